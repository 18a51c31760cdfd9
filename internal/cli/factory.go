package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/dockerapi"
	"github.com/infractl/infractl/internal/endpoint"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/lock"
	"github.com/infractl/infractl/internal/provision"
	"github.com/infractl/infractl/internal/redact"
)

// Factory wires dependencies once: the streams, the project loading flags
// and, lazily, the engine, so plan and lint never touch the daemon.
type Factory struct {
	Streams IOStreams
	Project compose.Options
	// Endpoint are the global flags that choose the engine.
	Endpoint endpoint.Flags
	// Orchestrator is --orchestrator: "docker" (one engine) or "swarm".
	Orchestrator string
	// Connect opens the engine (tests swap in the in-memory one).
	Connect func(ctx context.Context) (engine.Engine, error)
	engine  engine.Engine
	// noColor is --no-color: plain output whatever the terminal.
	noColor bool
	// red masks the secrets known so far (a --loki-url's password, then
	// the project's): Run redacts its error with it too.
	red *redact.Redactor
}

// SecretNamesEnv names the opt-in list of more variable names whose values
// are secrets (comma separated), beyond the documented rule.
const SecretNamesEnv = "INFRACTL_SECRET_NAMES"

// Redactor returns the redactor of the project m (its secrets, the
// credential variables of its services, hooks and build args, and the
// names in INFRACTL_SECRET_NAMES), with what the factory knew already. A
// secret file infractl cannot read is an invalid project (exit 2).
func (f *Factory) Redactor(m *compose.Model) (*redact.Redactor, error) {
	names, _ := f.Streams.LookupEnv(SecretNamesEnv)
	r, err := redact.ForProject(m.Project, strings.Split(names, ",")...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, compose.ErrInvalidProject)
	}
	f.red = r.Add(f.red.Values()...)
	return f.red, nil
}

// AddSecrets makes the factory's redactor mask values too (a URL's
// password given on the command line).
func (f *Factory) AddSecrets(values ...string) { f.red = f.red.Add(values...) }

func newFactory(s IOStreams) *Factory {
	f := &Factory{Streams: s}
	f.Connect = func(ctx context.Context) (engine.Engine, error) {
		ep, err := endpoint.Resolve(f.Endpoint, endpoint.Getenv(f.Streams.LookupEnv))
		if err != nil {
			// An engine that cannot be reached as configured: exit 3.
			return nil, fmt.Errorf("%w: %w", err, engine.ErrEngine)
		}
		if f.Swarm() {
			return dockerapi.ConnectSwarm(ctx, ep, endpoint.Getenv(f.Streams.LookupEnv))
		}
		e, err := dockerapi.ConnectTo(ctx, ep, endpoint.Getenv(f.Streams.LookupEnv))
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	return f
}

// Orchestrators are --orchestrator's values.
var Orchestrators = []string{"docker", "swarm"}

// Swarm reports whether the run is on Docker Swarm (--orchestrator swarm,
// or INFRACTL_ORCHESTRATOR=swarm).
func (f *Factory) Swarm() bool { return f.orchestrator() == "swarm" }

func (f *Factory) orchestrator() string {
	if f.Orchestrator != "" {
		return f.Orchestrator
	}
	if v, ok := f.Streams.LookupEnv("INFRACTL_ORCHESTRATOR"); ok && v != "" {
		return v
	}
	return "docker"
}

// checkOrchestrator refuses an unknown --orchestrator (a usage error).
func (f *Factory) checkOrchestrator() error {
	o := f.orchestrator()
	for _, ok := range Orchestrators {
		if o == ok {
			return nil
		}
	}
	return fmt.Errorf("--orchestrator (or INFRACTL_ORCHESTRATOR) %q: want docker or swarm%w", o, usageSuffix)
}

// Engine returns the engine, connecting on first use, so commands that
// never need it (plan, lint) never touch it.
func (f *Factory) Engine(ctx context.Context) (engine.Engine, error) {
	if f.engine != nil {
		return f.engine, nil
	}
	if err := f.checkOrchestrator(); err != nil {
		return nil, err
	}
	e, err := f.Connect(ctx)
	if err != nil {
		return nil, err // wraps engine.ErrEngine: exit 3
	}
	f.engine = e
	return e, nil
}

// Close releases the engine, if one was connected (and what it made for
// this run, such as verify's dial helper on a remote engine).
func (f *Factory) Close() {
	if f.engine != nil {
		_ = f.engine.Close()
		f.engine = nil
	}
}

// LoadModelAndEngine loads the project, then connects to the engine: a
// project that does not load is reported before the engine is needed.
func (f *Factory) LoadModelAndEngine(ctx context.Context) (*compose.Model, engine.Engine, error) {
	m, err := f.LoadModel(ctx)
	if err != nil {
		return nil, nil, err
	}
	e, err := f.Engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	return m, e, nil
}

func (f *Factory) addProjectFlags(c *cobra.Command) {
	fl := c.PersistentFlags()
	fl.StringArrayVarP(&f.Project.Files, "file", "f", nil, "compose configuration files (repeatable; default: COMPOSE_FILE, then compose.yaml found here or in a parent folder)")
	fl.StringVarP(&f.Project.ProjectName, "project-name", "p", "", "project name (default: COMPOSE_PROJECT_NAME, the top-level name:, or the project folder)")
	fl.StringVar(&f.Project.ProjectDir, "project-directory", "", "alternate working directory (default: the folder of the first compose file)")
	fl.StringArrayVar(&f.Project.EnvFiles, "env-file", nil, "environment files for interpolation (repeatable; default: .env in the project folder)")
	fl.StringArrayVar(&f.Project.Profiles, "profile", nil, "profiles to enable (repeatable; default: COMPOSE_PROFILES)")
	fl.StringVarP(&f.Endpoint.Context, "context", "c", "", "docker context to use (default: DOCKER_CONTEXT, then the docker config's currentContext), as docker does")
	fl.StringVar(&f.Orchestrator, "orchestrator", "", "where up, verify and down run the project: docker (one engine) or swarm (a Swarm manager: services, jobs, overlay networks; default: INFRACTL_ORCHESTRATOR, then docker)")
	fl.StringVarP(&f.Endpoint.Host, "host", "H", "", "engine to talk to: unix://, tcp:// (TLS from DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) or ssh://[user@]host[:port] (default: DOCKER_HOST)")
}

// LoadModel loads the project with the flags given, as docker compose would,
// and validates what compose leaves to `up`.
func (f *Factory) LoadModel(ctx context.Context) (*compose.Model, error) {
	return f.loadModel(ctx, false)
}

// loadModel is LoadModel; inContainer is for provision running as an init,
// where the secrets are the container's (see compose.ValidateInContainer).
func (f *Factory) loadModel(ctx context.Context, inContainer bool) (*compose.Model, error) {
	m, err := f.loadProject(ctx, inContainer)
	if err != nil {
		return nil, err
	}
	// Every command that reads the project finds a bad x-infractl
	// declaration, not only provision.
	if _, err := provision.Declarations(m); err != nil {
		return nil, fmt.Errorf("%w: %w", err, compose.ErrInvalidProject)
	}
	return m, nil
}

// loadProject loads and validates what compose checks (down needs no more).
func (f *Factory) loadProject(ctx context.Context, inContainer bool) (*compose.Model, error) {
	opts := f.Project
	opts.Env = f.Streams.Env
	m, err := compose.Load(ctx, opts)
	if err != nil {
		return nil, err
	}
	validate := m.Validate
	if inContainer {
		validate = m.ValidateInContainer
	}
	if err := validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return fmt.Errorf("unknown --format %q (one of %v)%w", format, allowed, usageSuffix)
}

// flagRange is a number flag's allowed range, checked before anything runs.
type flagRange struct {
	name     string
	value    float64
	min      float64
	positive bool // > min, not >= min
	unit     string
}

// checkRanges refuses an out-of-range flag value as a usage error (exit
// 2), naming the flag, its value and what it accepts.
func checkRanges(ranges ...flagRange) error {
	for _, r := range ranges {
		if r.value < r.min || r.positive && r.value == r.min {
			want := fmt.Sprintf("%g or more", r.min)
			if r.positive {
				want = fmt.Sprintf("more than %g", r.min)
			}
			return fmt.Errorf("--%s %g%s is out of range: it takes %s%s%w", r.name, r.value, r.unit, want, r.unit, usageSuffix)
		}
	}
	return nil
}

// lock takes the project's lock on eng for command (see internal/lock):
// keyed on the engine's ID, in the user's runtime folder.
func (f *Factory) lock(ctx context.Context, eng engine.Engine, project, command string) (func(), error) {
	id, err := eng.ID(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", eng.Endpoint(), err)
	}
	return lock.Acquire(lock.Dir(f.Streams.Getenv), id, eng.Endpoint(), project, command)
}
