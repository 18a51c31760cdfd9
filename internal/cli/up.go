package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/dockerapi"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/up"
)

type outputOptions struct {
	format string
	junit  string
}

func (o *outputOptions) addFlags(c *cobra.Command) {
	c.Flags().StringVar(&o.format, "format", "text", "verdict format on stdout: text or json")
	c.Flags().StringVar(&o.junit, "junit", "", "also write the verdict as JUnit XML to this file")
}

// prepareRun is what up and verify do before they touch the engine: load
// the project, gather its secrets (a secret file that cannot be read is
// refused), find an output that cannot be written, then connect. Nothing
// is created.
func (f *Factory) prepareRun(ctx context.Context, out outputOptions) (*compose.Model, *redact.Redactor, engine.Engine, error) {
	m, err := f.LoadModel(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	red, err := f.Redactor(m)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := out.check(); err != nil {
		return nil, nil, nil, err
	}
	eng, err := f.Engine(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, red, eng, nil
}

// check finds an output that cannot be written (--junit) before anything
// runs: nothing is created for a verdict that could not be kept.
func (o outputOptions) check() error {
	if o.junit == "" {
		return nil
	}
	if err := probeWritable(o.junit); err != nil {
		return fmt.Errorf("--junit: %w%w", err, silentErr{ErrOutput})
	}
	return nil
}

// probeWritable checks that file can be written: an existing file is
// opened for writing (not truncated), a new one is created in its folder
// and removed again.
func probeWritable(file string) error {
	if st, err := os.Stat(file); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a folder", file)
		}
		w, err := os.OpenFile(file, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return w.Close()
	}
	w, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w.Close()
	return os.Remove(file)
}

// writeVerdict prints the verdict and maps it to the exit code.
func (f *Factory) writeVerdict(v report.Verdict, o outputOptions) error {
	var err error
	if o.format == "json" {
		err = report.WriteVerdictJSON(f.Streams.Out, v)
	} else {
		styles := f.Streams.Styles()
		if f.noColor {
			styles = report.PlainStyles()
		}
		err = report.WriteVerdictText(f.Streams.Out, v, styles)
	}
	if err != nil {
		return err
	}
	if o.junit != "" {
		file, err := os.Create(o.junit)
		if err != nil {
			return fmt.Errorf("--junit: %w%w", err, silentErr{ErrOutput})
		}
		if err := report.WriteJUnit(file, v); err != nil {
			file.Close()
			return fmt.Errorf("write JUnit %s: %w%w", o.junit, err, silentErr{ErrOutput})
		}
		if err := file.Close(); err != nil {
			return fmt.Errorf("write JUnit %s: %w%w", o.junit, err, silentErr{ErrOutput})
		}
	}
	if !v.OK {
		return ErrChecksFailed
	}
	return nil
}

// UpOptions are what `infractl up`'s flags fill.
type UpOptions struct {
	Up                    up.Options
	Output                outputOptions
	TraceFile, CPUProfile string
	// Services are the SERVICE arguments: those and what they depend on
	// (not with NoDeps).
	Services []string
	NoDeps   bool
	// Scale are the --scale SERVICE=N values, in order.
	Scale []string
	// WaitTimeout bounds the whole run (docker compose's --wait-timeout);
	// 0: no bound but the per-init --timeout.
	WaitTimeout time.Duration
	Loki        lokiOptions
	// NoColor and QuietBuild are docker compose's --no-color and
	// --quiet-build.
	NoColor, QuietBuild bool
	// ExitCodeFrom is --exit-code-from: exit with that service's exit code.
	ExitCodeFrom string
}

// newUpCommand builds `up`; runF, when set, replaces running it (tests of
// the flags, no engine), as gh's NewCmdX(f, runF) does.
func newUpCommand(f *Factory, runF func(context.Context, *UpOptions) error) *cobra.Command {
	opts := &UpOptions{}
	o, out := &opts.Up, &opts.Output
	c := &cobra.Command{
		Use:   "up [SERVICE...]",
		Short: "Start the project and run its init phase, with one verdict",
		Long: `up starts the project through the Docker Engine API and runs its init phase
deterministically:

  - backends whose configuration did not change keep their container;
    changed ones are recreated;
  - every init service runs again in a fresh container, so idempotency
    (REQ-SPC-AUTO-001) is exercised on every run;
  - a service starts the moment its depends_on conditions hold, seen from
    the engine's events (start, health_status, die), not by polling;
  - while a backend is starting and something waits for it to be healthy,
    infractl also runs the backend's own healthcheck test through exec every
    --probe-interval, so an init does not wait for Docker's next healthcheck
    interval;
  - pre_start hooks run one at a time, in order, each in its own runner
    container, after their service's dependencies hold and before it
    starts, as docker compose v5.6.0 runs them; a failed hook leaves its
    service created;
  - a service whose restart policy lets it stay exited and that exits is
    judged a one-shot (exit 0 ok); restart: on-failure retries are counted;
  - a failure marks everything that waits on it "blocked by"; independent
    branches finish.

Containers, networks and volumes carry docker compose's labels and names
(and the config hash docker compose v5.6.0 computes): 'docker compose ps -a',
'logs', 'up' and 'down' work on them, and the other way round. Each init's output is written, secrets redacted, to --logs-dir.

Ctrl-C stops scheduling, stops the inits this run started, leaves backends
running, prints the partial verdict and exits 130.`,
		Example: `  infractl up -f compose.yaml --env-file .env.example
  infractl up --format json --junit init-phase.xml   # CI
  infractl up api                    # api and what it depends on
  infractl up --no-deps api          # api alone (its hooks still run)
  infractl up --force-recreate       # recreate everything; hooks run again`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, services []string) error {
			if err := refuseComposeFlags(cmd, upComposeFlags); err != nil {
				return err
			}
			if err := checkFormat(out.format, "text", "json"); err != nil {
				return err
			}
			opts.NoColor, _ = cmd.Flags().GetBool("no-color")
			opts.QuietBuild, _ = cmd.Flags().GetBool("quiet-build")
			if err := checkRanges(
				flagRange{name: "wait-timeout", value: opts.WaitTimeout.Seconds(), unit: "s"},
				flagRange{name: "parallel", value: float64(o.Parallel)},
				flagRange{name: "timeout", value: o.InitTimeout.Seconds(), positive: true, unit: "s"},
				flagRange{name: "ready-timeout", value: o.ReadyTimeout.Seconds(), positive: true, unit: "s"},
				flagRange{name: "probe-interval", value: o.ProbeInterval.Seconds(), unit: "s"},
				flagRange{name: "tail", value: float64(o.TailLines)},
				flagRange{name: "max-init-seconds", value: o.MaxInitSeconds, positive: true},
			); err != nil {
				return err
			}
			if o.Build && o.NoBuild {
				return fmt.Errorf("--build and --no-build cannot be used together%w", usageSuffix)
			}
			if o.ForceRecreate && o.NoRecreate {
				return fmt.Errorf("--force-recreate and --no-recreate cannot be used together: one recreates every container, the other none%w", usageSuffix)
			}
			opts.Services = services
			for _, s := range opts.Scale {
				name, num, ok := strings.Cut(s, "=")
				if n, err := strconv.Atoi(num); !ok || name == "" || err != nil || n < 0 {
					return fmt.Errorf("--scale %q: want SERVICE=N with N a number of containers (0 or more)%w", s, usageSuffix)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runUp(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.IntVar(&o.Parallel, "parallel", 0, "run at most N init services at once (0: no limit)")
	fl.BoolVar(&o.ForceRecreate, "force-recreate", false, "recreate every container even if its configuration did not change (as docker compose up --force-recreate); pre_start hooks run again")
	fl.StringArrayVar(&opts.Scale, "scale", nil, "run N containers of SERVICE, as SERVICE=N (repeatable; overrides scale and deploy.replicas; pre_start hooks still run once)")
	fl.BoolVar(&o.NoBuild, "no-build", false, "never build: an image that is missing is refused, naming it, even for a service with build: (as docker compose up --no-build)")
	fl.BoolVar(&o.Build, "build", false, "build the images of services with build: even when they exist (without it: only missing ones), through the Engine API's classic builder")
	fl.BoolVar(&opts.NoDeps, "no-deps", false, "with SERVICE arguments: run only those, not what they depend on (as docker compose up --no-deps)")
	fl.BoolVar(&o.RemoveOrphans, "remove-orphans", false, "remove the containers of services the compose file no longer defines (without it they get a warning)")
	fl.Var((*secondsOrDuration)(&opts.WaitTimeout), "wait-timeout", "give up the whole run after this long, as Ctrl-C would: seconds as docker compose takes them (120) or a duration (2m); 0: no bound but --timeout per init")
	fl.StringVar(&opts.ExitCodeFrom, "exit-code-from", "", "exit with this service's exit code once the init phase is done (a test service that runs once, as CI test runners use docker compose's); the verdict is printed as usual")
	fl.Bool("wait", false, "accepted for docker compose's sake: infractl always waits until the init phase is done and what it waits on is ready (running or healthy)")
	fl.BoolVar(&o.NoRecreate, "no-recreate", false, "keep existing containers even if their configuration changed, starting stopped ones, inits included (as docker compose up --no-recreate)")
	opts.Loki.addFlags(c, f, "loki-url", "push one result line per init step, one for the run, and the inits' redacted log lines to this Loki (http(s)://host:3100)")
	fl.BoolVar(&opts.Loki.required, "loki-required", false, "fail the run (exit 1) when the push to Loki fails; without it a failed push is a warning in the verdict")
	fl.BoolP("detach", "d", false, "accepted for docker compose's sake: infractl always returns once the init phase is done, leaving the services running")
	fl.DurationVar(&o.InitTimeout, "timeout", 10*time.Minute, "fail an init that runs longer than this")
	fl.DurationVar(&o.ReadyTimeout, "ready-timeout", 3*time.Minute, "fail a backend that is not ready (healthy) this long after it started")
	fl.DurationVar(&o.ProbeInterval, "probe-interval", 250*time.Millisecond, "run a starting backend's healthcheck through exec this often (0: off, wait for Docker)")
	fl.StringVar(&o.LogsDir, "logs-dir", "", "folder for the redacted init logs, replaced on each run (default: .infractl/<project>/logs in the project folder, which a .gitignore in .infractl keeps out of git status)")
	fl.IntVar(&o.TailLines, "tail", 20, "log lines shown for a failed service")
	fl.Float64Var(&o.MaxInitSeconds, "max-init-seconds", 60, "flag an init that finishes this long or longer after its targets were ready (seed NFR: < 60 s)")
	fl.StringVar(&opts.TraceFile, "trace", "", "write one JSON line per container start (what triggered it, when the API call was made) to this file; make bench reads it")
	fl.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of this run to this file (go tool pprof)")
	out.addFlags(c)
	addComposeFlags(c, upComposeFlags)
	return c
}

// runUp is `infractl up`: load, run, print the verdict.
func runUp(ctx context.Context, f *Factory, opts *UpOptions) error {
	o, out := &opts.Up, opts.Output
	traceFile, cpuProfile := opts.TraceFile, opts.CPUProfile
	lc, err := opts.Loki.client(f)
	if err != nil {
		return err
	}
	m, red, eng, err := f.prepareRun(ctx, out)
	if err != nil {
		return err
	}
	o.Redactor = red
	release, err := f.lock(ctx, eng, m.Project.Name, "up")
	if err != nil {
		return err
	}
	defer release()
	if s := opts.ExitCodeFrom; s != "" {
		if _, ok := m.Services[s]; !ok {
			return fmt.Errorf("--exit-code-from %q: no such service (services: %s)%w", s, strings.Join(m.Project.ServiceNames(), ", "), usageSuffix)
		}
	}
	if len(opts.Services) > 0 {
		o.Known = append(m.Project.ServiceNames(), m.Project.DisabledServiceNames()...)
		if m, err = m.Select(opts.Services, opts.NoDeps); err != nil {
			return err
		}
	}
	for _, s := range opts.Scale {
		name, num, _ := strings.Cut(s, "=")
		n, _ := strconv.Atoi(num)
		if err := m.SetScale(name, n); err != nil {
			return err
		}
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if opts.WaitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.WaitTimeout)
		defer cancel()
	}
	o.Progress = f.Streams.ErrOut
	if opts.NoColor {
		f.noColor = true
	}
	o.QuietBuild = opts.QuietBuild
	if f.Streams.ErrTTY {
		o.Live, o.Styles, o.Width = true, report.ColorStyles(), f.Streams.ErrWidth
		if _, set := f.Streams.LookupEnv("NO_COLOR"); set || f.noColor {
			o.Styles = report.PlainStyles()
		}
	}
	if traceFile != "" {
		file, err := os.Create(traceFile)
		if err != nil {
			return fmt.Errorf("--trace: %w%w", err, usageSuffix)
		}
		defer file.Close()
		o.Trace = file
	}
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	o.Warnings = f.Streams.ErrOut
	o.Orchestrated = f.Swarm()
	v, err := up.Run(ctx, eng, m, *o)
	v.Endpoint = eng.Endpoint()
	warnIfLost(f, eng, err)
	if errors.Is(err, engine.ErrEngine) && !strings.Contains(err.Error(), v.Endpoint) {
		err = fmt.Errorf("engine %s: %w", v.Endpoint, err)
	}
	if lc != nil && len(v.Services) > 0 {
		before := ctx.Err()
		opts.Loki.push(ctx, lc, &v, f.Streams.ErrOut)
		if before == nil && errors.Is(ctx.Err(), context.Canceled) && err == nil {
			// Ctrl-C during the push: the run itself was done.
			v.Interrupted = true
			v.Finish()
			err = ctx.Err()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("--wait-timeout %s passed before the init phase finished; the inits still running were stopped: %w", opts.WaitTimeout, ErrChecksFailed)
	}
	if err != nil && !errors.Is(err, context.Canceled) && len(v.Services) == 0 {
		return err
	}
	if werr := f.writeVerdict(v, out); werr != nil && !errors.Is(werr, ErrChecksFailed) {
		return werr
	} else if err == nil {
		err = werr
	}
	if s := opts.ExitCodeFrom; s != "" && (err == nil || errors.Is(err, ErrChecksFailed)) { //nolint:errorlint // checked above
		for _, sv := range v.Services {
			if sv.Name == s && sv.ExitCode != nil {
				// As docker compose: that service's code, whatever else
				// did (the verdict above says what else failed).
				return ServiceExitCode{Service: s, Code: *sv.ExitCode}
			}
		}
		fmt.Fprintf(f.Streams.ErrOut, "WARN: --exit-code-from %s: it did not exit during the run (infractl returns once the init phase is done); the run's own exit code follows\n", s)
	}
	return err
}

// warnIfLost says, after an interrupted run, that the engine was given up
// (it stopped answering): what the run had started may still run there.
// An engine lost during a run is the run's error instead (exit 3).
func warnIfLost(f *Factory, eng engine.Engine, runErr error) {
	if errors.Is(runErr, engine.ErrEngine) {
		return // the ERROR line says it
	}
	if l, ok := eng.(interface{ Lost() error }); ok {
		if err := l.Lost(); err != nil {
			fmt.Fprintf(f.Streams.ErrOut, "WARN: %v\n", err)
		}
	}
}

// secondsOrDuration is a duration flag that also takes a bare number of
// seconds, as docker compose's int flags (--wait-timeout 120) do.
type secondsOrDuration time.Duration

func (d *secondsOrDuration) String() string { return time.Duration(*d).String() }
func (d *secondsOrDuration) Type() string   { return "duration" }
func (d *secondsOrDuration) Set(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		*d = secondsOrDuration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want seconds (120) or a duration (2m)")
	}
	*d = secondsOrDuration(v)
	return nil
}

// startCPUProfile profiles the process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w%w", err, usageSuffix)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func newDownCommand(f *Factory) *cobra.Command {
	o := engine.DownOptions{}
	stopTimeout := 10
	c := &cobra.Command{
		Use:   "down",
		Short: "Remove the project's containers and networks (and volumes with -v)",
		Long: `down removes the project's containers and networks, whoever created them
(infractl up or docker compose up): they are found by compose's project
label. Named volumes are kept unless -v is given.

As docker compose does, what depends on a service is stopped before the
service (the order comes from the containers' depends_on labels), the
containers of services that do not wait on each other in parallel, each
with its stop_signal and stop_grace_period (-t N overrides the grace
period); a line is printed for each container as it is removed.

As with docker compose, -p NAME needs no compose file: without one (or when
the file no longer loads) everything labelled with that project is removed.`,
		Example: `  infractl down -v
  infractl down -p shop      # no compose file needed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := refuseComposeFlags(cmd, downComposeFlags); err != nil {
				return err
			}
			switch o.RemoveImages {
			case "", "local", "all":
			default:
				return fmt.Errorf("--rmi %q: want local or all%w", o.RemoveImages, usageSuffix)
			}
			if o.RemoveImages != "" && f.Swarm() {
				return fmt.Errorf("--rmi: not on Swarm (each node holds its own images)%w", usageSuffix)
			}
			if cmd.Flags().Changed("timeout") {
				if stopTimeout < 0 {
					return fmt.Errorf("-t/--timeout %d is out of range: it takes 0 or more seconds%w", stopTimeout, usageSuffix)
				}
				o.StopTimeout = &stopTimeout
			}
			ctx := cmd.Context()
			name := f.Project.ProjectName
			if name == "" {
				name, _ = f.Streams.LookupEnv("COMPOSE_PROJECT_NAME")
			}
			m, loadErr := f.loadProject(ctx, false)
			if loadErr != nil && name == "" {
				return loadErr
			}
			eng, err := f.Engine(ctx)
			if err != nil {
				return err
			}
			if loadErr == nil {
				name = m.Project.Name
				o.Services = append(m.Project.ServiceNames(), m.Project.DisabledServiceNames()...)
			} else {
				// Every container of the project, whatever its service.
				label := engine.LabelProject
				if f.Swarm() {
					label = dockerapi.LabelStackNamespace
				}
				fmt.Fprintf(f.Streams.ErrOut, "WARN: no project to load (%s); removing everything labelled %s=%s\n", Message(loadErr), label, name)
				o.Services = nil
			}
			release, err := f.lock(ctx, eng, name, "down")
			if err != nil {
				return err
			}
			defer release()
			kind := "container"
			if f.Swarm() {
				kind = "service" // a Swarm stack's are services
			}
			// A line per container, network and volume as it goes.
			said := map[string]bool{}
			o.Progress = func(k, n string) {
				if k == "container" {
					k = kind
				}
				said[k+" "+n] = true
				fmt.Fprintf(f.Streams.ErrOut, "removed %s %s\n", k, n)
			}
			rep, err := eng.Down(context.WithoutCancel(ctx), name, o)
			// What the engine removed without a word as it went (Swarm).
			for _, l := range []struct {
				kind  string
				names []string
			}{{kind, rep.Containers}, {"network", rep.Networks}, {"volume", rep.Volumes}, {"image", rep.Images}} {
				for _, n := range l.names {
					if !said[l.kind+" "+n] {
						fmt.Fprintf(f.Streams.ErrOut, "removed %s %s\n", l.kind, n)
					}
				}
			}
			for _, n := range rep.Kept {
				fmt.Fprintf(f.Streams.ErrOut, "kept orphan %s %s (use --remove-orphans)\n", kind, n)
			}
			return err
		},
	}
	c.Flags().BoolVarP(&o.Volumes, "volumes", "v", false, "also remove the project's named volumes")
	c.Flags().BoolVar(&o.RemoveOrphans, "remove-orphans", false, "also remove containers of services the project no longer defines")
	c.Flags().StringVar(&o.RemoveImages, "rmi", "", `also remove the images the containers ran: "local" those without a custom tag (the <project>-<service> images built for services without image:), "all" every one; an image another container uses is left`)
	c.Flags().IntVarP(&stopTimeout, "timeout", "t", 10, "seconds a running container may take to stop before it is killed (as docker compose down -t; default: each service's stop_grace_period, else 10)")
	addComposeFlags(c, downComposeFlags)
	return c
}
