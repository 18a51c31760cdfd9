// Package verify is `infractl verify` as a use case: it judges a running
// project, whoever started it, as a list of checks, one file each, each
// with the requirement ID it proves. Run owns the order and the verdict;
// a check only reads the observation (Env) and returns its result.
//
// What belongs here: the checks and their rules (on the engine port's one
// definition of finished, healthy and unchanged). Not engine calls (they
// go through internal/engine) nor rendering (internal/report).
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/up"
)

// Options select verify's checks.
type Options struct {
	// MaxInitSeconds is the NFR bound.
	MaxInitSeconds float64
	// Rerun runs every init again (VAL-SPC-101).
	Rerun bool
	// Blocking disrupts the stack to prove inits block and fail fast
	// (VAL-SPC-102).
	Blocking bool
	// Grace is how long an init must keep waiting while its targets are down.
	Grace time.Duration
	// FailFastWithin bounds how long an init may wait for targets that
	// never come before it must exit non-zero.
	FailFastWithin time.Duration
	// Audit checks provisioned resources (VAL-SPC-103).
	Audit bool
	// Loki, when set, is queried for the current run's result lines
	// (SPEC-INFRA-03 §9); nil skips the check.
	Loki      LokiQuerier
	TailLines int
	Progress  io.Writer
	// Redactor masks the project's secrets (nil: redact.ForProject).
	Redactor *redact.Redactor
	// Clock and Idle are for tests on the in-memory engine (nil: the real
	// clock): the blocking check's waits and the rerun's scheduler run on
	// Clock; Idle is the rerun scheduler's (scheduler.Options.Idle).
	Clock clockwork.Clock
	Idle  func(received int)
}

// Env is what every check sees: the project, what the engine shows of it
// now, and the means to run it (for the checks that must).
type Env struct {
	Model *compose.Model
	Opts  Options
	Red   *redact.Redactor
	// Engine is the engine; Observer its read-only view of the project.
	Engine   engine.Engine
	Observer engine.Observer
	// Current is each service's container (one-offs left out), All every
	// container found.
	Current map[string]engine.Container
	All     []engine.Container
	// Logs are the raw logs of the inits that ran, by service.
	Logs map[string]string
	// Services is the per-service part of the verdict, filled by the
	// init-state check.
	Services []report.ServiceVerdict
	// Say reports progress (redacted).
	Say func(format string, args ...any)

	project engine.Project
}

// Project returns the project's runnable port, made on first use (it
// checks that the project can run: images, keys).
func (env *Env) Project(ctx context.Context) (engine.Project, error) {
	if env.project != nil {
		return env.project, nil
	}
	fresh := map[string]engine.Policy{}
	for _, s := range env.Model.Inits() {
		fresh[s.Name] = engine.Fresh
	}
	pr, err := env.Engine.Project(ctx, env.Model.Project, fresh)
	if err != nil {
		return nil, up.Classify(err)
	}
	env.project = pr
	return pr, nil
}

// Check is one of verify's checks.
type Check interface {
	// ID is the requirement the check proves (report.Req*).
	ID() string
	// Run judges the project. An error means the check could not finish
	// (interrupted, the engine failed); its partial result is kept.
	Run(ctx context.Context, env *Env) (report.Check, error)
}

// ErrNoContainers means the project has no container on the engine:
// nothing to verify (exit 1, one line).
var ErrNoContainers = errors.New("nothing to verify")

// Checks are verify's checks in the order they run.
func Checks(o Options) []Check {
	return []Check{
		composeCheck{},
		initStateCheck{},
		nfrCheck{},
		leakCheck{},
		rerunCheck{enabled: o.Rerun},
		blockingCheck{enabled: o.Blocking},
		auditCheck{enabled: o.Audit},
		lokiCheck{},
	}
}

// Run observes the project and runs every check in order; it stops at the
// first check that cannot finish and returns the verdict so far.
func Run(ctx context.Context, eng engine.Engine, m *compose.Model, opts Options) (report.Verdict, error) {
	start := time.Now()
	v := report.Verdict{Command: "verify", Project: m.Project.Name}
	red := opts.Redactor
	if red == nil {
		var err error
		if red, err = redact.ForProject(m.Project); err != nil {
			return v, fmt.Errorf("%w: %w", err, compose.ErrInvalidProject)
		}
	}
	env := &Env{Model: m, Opts: opts, Red: red, Engine: eng, Observer: eng.Observe(m.Project.Name), Logs: map[string]string{}}
	env.Say = func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "%6.1fs  %s\n", time.Since(start).Seconds(), red.String(fmt.Sprintf(format, args...)))
		}
	}
	env.Say("inspecting the project's containers")
	if err := observe(ctx, env); err != nil {
		return v, err
	}
	if len(env.All) == 0 {
		// Not a row per service that "never ran": the project is not there.
		return v, fmt.Errorf("project %q has no containers on this engine: start it (infractl up, docker compose up) or check the project name (-p, COMPOSE_PROJECT_NAME, name:): %w", m.Project.Name, ErrNoContainers)
	}
	var runErr error
	for _, c := range Checks(opts) {
		res, err := c.Run(ctx, env)
		res = redactCheck(red, res)
		v.Checks = append(v.Checks, res)
		if err != nil {
			runErr = err
			break
		}
	}
	v.Services = env.Services
	v.WallSeconds = time.Since(start).Seconds()
	v.Finish()
	return v, runErr
}

// observe lists the project's containers and reads the logs of the inits
// that ran.
func observe(ctx context.Context, env *Env) error {
	cs, err := env.Observer.Containers(ctx)
	if err != nil {
		return err
	}
	env.All = cs
	env.Current = map[string]engine.Container{}
	for _, c := range cs {
		if !c.OneOff {
			env.Current[c.Service] = c
		}
	}
	for _, s := range env.Model.Inits() {
		c, ok := env.Current[s.Name]
		if !ok || c.State.NeverStarted() {
			continue
		}
		raw, err := env.Observer.Logs(ctx, c.ID)
		if err != nil {
			return err
		}
		env.Logs[s.Name] = string(raw)
	}
	return nil
}

// redactCheck makes sure nothing a check says shows a secret (health
// output, an init's log line, an error).
func redactCheck(red *redact.Redactor, c report.Check) report.Check {
	c.Reason = red.String(c.Reason)
	for i := range c.Results {
		c.Results[i].Message = red.String(c.Results[i].Message)
	}
	return c
}

func skipped(id, title, reason string) report.Check {
	return report.Check{ID: id, Title: title, Status: report.Skip, Reason: reason}
}
