// Package up is `infractl up` as a use case: it takes a loaded model and an
// engine (the port), drives the scheduler over the project's runtime,
// collects logs (redacted) and builds the verdict. What belongs here: the
// run and its verdict; not the engine calls (internal/dockerapi) nor the
// rendering (internal/report).
package up

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/scheduler"
)

// Options tune `infractl up`.
type Options struct {
	Parallel int
	// ForceRecreate recreates every service's container, changed or not
	// (docker compose up --force-recreate); their hooks run again.
	ForceRecreate bool
	// Build builds every service that has build: (as --build); without it
	// only those whose image is missing are built.
	Build bool
	// NoBuild builds nothing (--no-build): a missing image is refused.
	NoBuild bool
	// NoRecreate keeps every existing container of a service, changed or
	// not, starting it when it is stopped (docker compose up --no-recreate).
	NoRecreate bool
	// RemoveOrphans removes the containers of services the project no
	// longer defines; without it they get a warning, as in compose.
	RemoveOrphans bool
	// Known are every service the project defines (enabled or not), for
	// telling orphans; nil: the model's. `up SERVICE...` runs a narrowed
	// model, so the command passes the whole project's.
	Known         []string
	InitTimeout   time.Duration
	ReadyTimeout  time.Duration
	ProbeInterval time.Duration
	// LogsDir receives one redacted log file per init (and per failed
	// service); empty means <project dir>/.infractl/<project>/logs.
	LogsDir string
	// TailLines is how many log lines a failure shows.
	TailLines int
	// MaxInitSeconds is the NFR bound (seed 002 §8: < 60 s).
	MaxInitSeconds float64
	// Progress receives one line per state change (stderr).
	Progress io.Writer
	// Live redraws one line per service in place (a terminal) instead of
	// appending event lines; Styles colour it.
	Live   bool
	Styles report.Styles
	// Width is the terminal's width in columns for the live view (nil or
	// <= 0: lines are not cut).
	Width func() int
	// Trace, when set, receives one JSON line per container start: the
	// input that triggered it and when the start call was made (make bench
	// reads it to split each edge into engine and infractl time).
	Trace io.Writer
	// Warnings receives one line per warning (a volume made by hand).
	Warnings io.Writer
	// Orchestrated means replicas are the orchestrator's (Swarm): one node
	// per service, ready when all its replicas are.
	Orchestrated bool
	// QuietBuild leaves build output out of Progress (--quiet-build).
	QuietBuild bool
	// Redactor masks the project's secrets in everything the run prints or
	// writes (nil: redact.ForProject of the model).
	Redactor *redact.Redactor
	// Clock and Idle are for tests on the in-memory engine (nil: the real
	// clock; see scheduler.Options.Idle).
	Clock clockwork.Clock
	Idle  func(received int)
}

// Run runs the project: networks and volumes, backends kept when unchanged,
// every init in a fresh container, in dependency order. The verdict is
// returned even when the run failed; the error is the interruption or an
// engine failure.
func Run(ctx context.Context, eng engine.Engine, m *compose.Model, opts Options) (report.Verdict, error) {
	clock := opts.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	start := clock.Now()
	v := report.Verdict{Command: "up", Project: m.Project.Name}
	nodes := Nodes(m)
	if opts.Orchestrated {
		nodes = ServiceNodes(m)
	}
	policy := map[string]engine.Policy{}
	for _, n := range nodes {
		switch {
		case opts.NoRecreate:
			// compose's meaning: an init's exited container is started
			// again, not replaced.
			policy[n.Name] = engine.KeepExisting
		case n.Init || opts.ForceRecreate:
			policy[n.Name] = engine.Fresh
		}
	}
	red := opts.Redactor
	if red == nil {
		var err error
		if red, err = redact.ForProject(m.Project); err != nil {
			return v, fmt.Errorf("%w: %w", err, compose.ErrInvalidProject)
		}
	}
	if err := eng.Check(m.Project); err != nil {
		// Refused before anything is built or created.
		return v, Classify(err)
	}
	for _, n := range m.Project.ServiceNames() {
		if m.Project.Services[n].Build == nil || opts.NoBuild {
			continue
		}
		say := func(line string) {
			if opts.Progress != nil && !opts.QuietBuild {
				// A RUN step may print a build arg that holds a secret,
				// and anything the build prints is foreign bytes.
				fmt.Fprintf(opts.Progress, "build %s: %s\n", n, red.Terminal(line))
			}
		}
		if _, err := eng.Build(ctx, m.Project, n, opts.Build, say); err != nil {
			return v, Classify(err)
		}
	}
	if err := orphans(ctx, eng, m, opts); err != nil {
		return v, Classify(err)
	}
	if !opts.Orchestrated {
		// Swarm scales its services itself (the update sets replicas).
		removed, err := scaleDown(ctx, eng, m, opts)
		if err != nil {
			return v, Classify(err)
		}
		v.ScaledDown = removed
	}
	pr, err := eng.Project(ctx, m.Project, policy)
	if err != nil {
		return v, Classify(err)
	}
	warnings, err := pr.EnsureResources(ctx)
	for _, w := range warnings {
		if opts.Warnings != nil {
			fmt.Fprintf(opts.Warnings, "WARN: %s\n", w)
		}
	}
	if err != nil {
		return v, Classify(err)
	}
	progress := newProgress(opts.Progress, clock, start, red)
	if opts.Live && opts.Progress != nil {
		width := opts.Width
		if width == nil {
			width = func() int { return 0 }
		}
		progress.live, progress.styles = report.NewLive(opts.Progress, width), opts.Styles
	}
	sched := scheduler.New(pr, clock, scheduler.Options{
		Parallel:      opts.Parallel,
		InitTimeout:   opts.InitTimeout,
		ReadyTimeout:  opts.ReadyTimeout,
		ProbeInterval: opts.ProbeInterval,
		Observer:      progress.observe,
		Trace:         traceTo(opts.Trace),
		Idle:          opts.Idle,
	})
	results, runErr := sched.Run(ctx, nodes)
	if progress.live != nil {
		progress.live.Close()
	}
	// Ctrl-C, or the whole run's deadline (--wait-timeout).
	v.Interrupted = errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded)

	logsDir := opts.LogsDir
	if logsDir == "" {
		logsDir = DefaultLogsDir(m.Project.WorkingDir, m.Project.Name)
		ignoreLogsRoot(m.Project.WorkingDir)
	}
	// Each run replaces its project's logs: a log of a replica or init
	// that no longer runs is not left to be mistaken for this run's.
	clearLogs(logsDir)
	// Logs are collected even after Ctrl-C: a fresh context, bounded.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	logsWarned := false
	var logsErr error
	v.Services = make([]report.ServiceVerdict, 0, len(results))
	for _, r := range results {
		sv := serviceVerdict(m, r, start, opts.MaxInitSeconds)
		sv.Container, sv.ContainerID, sv.StartedAt, sv.FinishedAt = pr.ContainerName(r.Name), r.ContainerID, r.Started, r.Exited
		if r.ContainerID != "" && (r.Init || r.Observed || sv.Outcome != "ok") && r.Started.After(time.Time{}) {
			logs, err := pr.Logs(lctx, r.ContainerID)
			if errors.Is(err, engine.ErrLost) && runErr == nil && logsErr == nil {
				// The engine stopped answering after the run: the verdict lacks
				// logs it should show, so the run is not a success.
				logsErr = fmt.Errorf("reading the log of %s: %w", r.Name, err)
			}
			if err == nil {
				clean := red.Bytes(logs)
				sv.Log = string(clean)
				sv.LogTail = report.Tail(red.Terminal(string(clean)), opts.TailLines)
				file := filepath.Join(logsDir, LogFileName(r.Name))
				err := os.MkdirAll(logsDir, 0o755)
				if err == nil {
					err = os.WriteFile(file, clean, 0o644)
				}
				if err == nil {
					sv.LogFile = file
					v.LogsDir = logsDir
				} else if !logsWarned && opts.Warnings != nil {
					logsWarned = true
					fmt.Fprintf(opts.Warnings, "WARN: cannot write the init logs to --logs-dir %s: %v (the verdict still shows their tails)\n", logsDir, err)
				}
			}
		}
		if sv.Outcome == "ok" {
			sv.LogTail = nil
		}
		if replicaOf(m, r.Name).Hook != nil && r.Outcome == scheduler.OK && r.ContainerID != "" {
			// As compose does: a hook that succeeded leaves no container
			// (its log is in the log file); a failed one is kept for
			// inspection until the next run or down.
			if err := pr.Remove(lctx, r.ContainerID); err != nil && opts.Warnings != nil {
				fmt.Fprintf(opts.Warnings, "WARN: could not remove the runner of %s: %v\n", r.Name, err)
			}
		}
		if !r.Init && !r.Observed && r.ReadyBy == "probe" && r.ContainerID != "" {
			// infractl's probe passed first; docker compose ps goes on
			// saying "health: starting" until Docker's own check passes.
			if st, err := pr.Inspect(lctx, r.ContainerID); err == nil && st.Running && st.Health == engine.HealthStarting {
				v.Notes = append(v.Notes, fmt.Sprintf("%s is ready by infractl's probe of its healthcheck; Docker's own healthcheck had not passed yet when up returned (docker compose ps shows it as health: starting until it does)", r.Name))
			}
		}
		sv.Detail = red.Terminal(sv.Detail)
		v.Services = append(v.Services, sv)
	}
	sortServices(m, v.Services)
	v.Checks = append(v.Checks, initExitCheck(m, v.Services), nfrCheck(m, v.Services, opts.MaxInitSeconds))
	v.WallSeconds = clock.Since(start).Seconds()
	v.Finish()
	if runErr != nil && !v.Interrupted {
		return v, Classify(runErr)
	}
	if runErr == nil && logsErr != nil {
		return v, logsErr
	}
	return v, runErr
}

// DefaultLogsDir is where a project's logs go without --logs-dir:
// .infractl/<project>/logs in the project folder (two projects of one
// checkout keep theirs apart), with a .gitignore in .infractl that keeps
// the checkout's git status clean.
func DefaultLogsDir(workingDir, project string) string {
	return filepath.Join(workingDir, ".infractl", project, "logs")
}

// ignoreLogsRoot writes .infractl/.gitignore (once) so that the logs stay
// out of the checkout's git status.
func ignoreLogsRoot(workingDir string) {
	root := filepath.Join(workingDir, ".infractl")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return
	}
	ignore := filepath.Join(root, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(ignore, []byte("# infractl's run logs: not part of the project.\n*\n"), 0o644)
	}
}

// clearLogs removes the .log files a previous run left in dir (only
// those: the folder may be the user's own --logs-dir).
func clearLogs(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range old {
		_ = os.Remove(f)
	}
}

// scaleDown removes the containers of services that now have fewer
// replicas (--scale, scale:, deploy.replicas), highest numbers first, as
// docker compose up does, stopping them as down does. Hook runners and
// one-off containers are not replicas.
func scaleDown(ctx context.Context, eng engine.Engine, m *compose.Model, opts Options) ([]string, error) {
	cs, err := eng.Observe(m.Project.Name).Containers(ctx)
	if err != nil {
		return nil, err
	}
	type excess struct {
		name string
		n    int
	}
	var over []excess
	for _, c := range cs {
		s, ok := m.Services[c.Service]
		if !ok || c.OneOff || c.Labels[engine.LabelHook] != "" || s.Hook != nil {
			continue
		}
		n, err := strconv.Atoi(c.Labels[engine.LabelNumber])
		if err != nil || n <= s.Config.GetScale() {
			continue
		}
		over = append(over, excess{c.Name, n})
	}
	if len(over) == 0 {
		return nil, nil
	}
	sort.Slice(over, func(i, j int) bool {
		return over[i].n > over[j].n || over[i].n == over[j].n && over[i].name < over[j].name
	})
	names := make([]string, len(over))
	for i, o := range over {
		names[i] = o.name
	}
	if _, err := eng.Down(ctx, m.Project.Name, engine.DownOptions{Only: names}); err != nil {
		return nil, fmt.Errorf("scale down: %w", err)
	}
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "scaled down: removed %s\n", strings.Join(names, ", "))
	}
	return names, nil
}

// LogFileName is the file a node's log is written to in the logs folder:
// "web.log", a replica "web#2.log", a hook "app/pre_start[0]"
// "app+pre_start-0.log" ('+' is not allowed in a service name, so no
// service's file can be a hook's).
func LogFileName(node string) string {
	return strings.NewReplacer("/", "+", "[", "-", "]", "").Replace(node) + ".log"
}

// orphans warns about (or, with RemoveOrphans, removes) the project's
// containers whose service the project no longer defines, as compose up
// does. One-off containers (docker compose run, verify) are not orphans.
func orphans(ctx context.Context, eng engine.Engine, m *compose.Model, opts Options) error {
	known := map[string]bool{}
	for _, n := range opts.Known {
		known[n] = true
	}
	if opts.Known == nil {
		for _, n := range append(m.Project.ServiceNames(), m.Project.DisabledServiceNames()...) {
			known[n] = true
		}
	}
	cs, err := eng.Observe(m.Project.Name).Containers(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, c := range cs {
		svc := c.Service
		if s, _, ok := compose.ParseHookName(svc); ok {
			svc = s
		}
		if c.OneOff || known[svc] {
			continue
		}
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return nil
	}
	if !opts.RemoveOrphans {
		if opts.Warnings != nil {
			fmt.Fprintf(opts.Warnings, "WARN: found orphan containers (%s) for this project; if you removed or renamed their service in the compose file, run with --remove-orphans to remove them\n", strings.Join(names, ", "))
		}
		return nil
	}
	list := make([]string, 0, len(known))
	for n := range known {
		list = append(list, n)
	}
	rep, err := eng.Down(ctx, m.Project.Name, engine.DownOptions{Services: list, OnlyOrphans: true})
	if err != nil {
		return fmt.Errorf("--remove-orphans: %w", err)
	}
	if opts.Progress != nil && len(rep.Containers) > 0 {
		fmt.Fprintf(opts.Progress, "removed orphan containers: %s\n", strings.Join(rep.Containers, ", "))
	}
	return nil
}

// Classify gives an error from the engine its exit-code category: a
// project that cannot run as written (unsupported, a conflict) is an
// invalid project (exit 2); anything else that is not already classified
// is the engine's (exit 3).
func Classify(err error) error {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, compose.ErrInvalidProject):
		return err
	case errors.Is(err, engine.ErrUnsupported), errors.Is(err, engine.ErrConflict), errors.Is(err, scheduler.ErrStuck):
		return fmt.Errorf("%w: %w", err, compose.ErrInvalidProject)
	case errors.Is(err, engine.ErrEngine):
		return err
	}
	return fmt.Errorf("%w: %w", err, engine.ErrEngine)
}

// traceTo writes each dispatch as one JSON line; nil writes nothing.
func traceTo(w io.Writer) func(scheduler.Dispatch) {
	if w == nil {
		return nil
	}
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return func(d scheduler.Dispatch) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(d)
	}
}

// Nodes turns the model into scheduler nodes: one per container. A
// service with N replicas (deploy.replicas, scale, --scale) is N nodes,
// "web", "web#2", ... (containers web-1, web-2, ...), each with the
// service's dependencies and hooks, and whatever depends on the service
// waits for every replica, as in compose; with 0 it has none, and the
// dependencies on it are dropped.
func Nodes(m *compose.Model) []scheduler.Node { return nodes(m, false) }

// ServiceNodes are Nodes when an orchestrator runs the replicas (Swarm):
// one node per service with at least one replica.
func ServiceNodes(m *compose.Model) []scheduler.Node { return nodes(m, true) }

func nodes(m *compose.Model, perService bool) []scheduler.Node {
	replicas := func(name string) []string {
		s := m.Services[name]
		if s.Hook != nil {
			if m.Services[s.Hook.Service].Config.GetScale() == 0 {
				return nil // no container to run before
			}
			return []string{name}
		}
		n := s.Config.GetScale()
		if perService && n > 0 {
			return []string{name}
		}
		out := make([]string, 0, n)
		for k := 1; k <= n; k++ {
			if k == 1 {
				out = append(out, name)
			} else {
				out = append(out, engine.ReplicaName(name, k))
			}
		}
		return out
	}
	nodes := make([]scheduler.Node, 0, len(m.Names))
	for _, n := range m.Names {
		s := m.Services[n]
		rp := compose.Restart(s.Config)
		var deps []scheduler.Dep
		for _, e := range s.Deps {
			for _, r := range replicas(e.To) {
				deps = append(deps, scheduler.Dep{Target: r, Condition: scheduler.Condition(e.Condition), Required: e.Required})
			}
		}
		for _, name := range replicas(n) {
			node := scheduler.Node{Name: name, Init: s.Role == compose.RoleInit, Restart: rp.Mode, MaxRetries: rp.MaxRetries, Deps: slices.Clone(deps)}
			if s.Hook != nil {
				// A hook's runner: created once its service's (first)
				// container exists (it mounts its volumes), run once
				// whatever the number of replicas, never restarted.
				node.Init, node.Restart, node.MaxRetries, node.CreateAfter = true, compose.RestartNo, 0, s.Hook.Service
			}
			nodes = append(nodes, node)
		}
	}
	return nodes
}

func replicaOf(m *compose.Model, name string) *compose.Service {
	svc, _ := engine.ParseReplicaName(name)
	return m.Services[svc]
}

func serviceVerdict(m *compose.Model, r scheduler.Result, start time.Time, maxInit float64) report.ServiceVerdict {
	s := replicaOf(m, r.Name)
	sv := report.ServiceVerdict{Name: r.Name, Role: string(s.Role), Detail: r.Detail, Reused: r.Reused, ReadyBy: r.ReadyBy, Retries: r.Retries}
	oneShot := r.Init || r.Observed
	if r.Observed {
		// Declared otherwise, it ran as a one-shot: its restart policy let
		// it stay exited, and it exited during the run.
		sv.Role, sv.RoleObserved = string(compose.RoleInit), true
	}
	switch r.Outcome {
	case scheduler.Failed:
		sv.Outcome = "failed"
		if r.ExitCode >= 0 && !r.Exited.IsZero() {
			sv.Outcome = fmt.Sprintf("failed (exit %d)", r.ExitCode)
		}
	case scheduler.Blocked:
		sv.Outcome = "blocked by " + r.BlockedBy
		sv.BlockedBy = r.BlockedBy
	default:
		sv.Outcome = string(r.Outcome)
	}
	if !r.Exited.IsZero() && r.ExitCode >= 0 {
		code := r.ExitCode
		sv.ExitCode = &code
	}
	if !r.DepsReady.IsZero() {
		sv.WaitSeconds = nonNeg(r.DepsReady.Sub(start).Seconds())
	}
	if !r.Started.IsZero() {
		end := r.Exited
		if !oneShot && !r.Ready.IsZero() {
			end = r.Ready
		}
		if !end.IsZero() {
			sv.RunSeconds = nonNeg(end.Sub(r.Started).Seconds())
		}
	}
	if oneShot && !r.Exited.IsZero() && !r.DepsReady.IsZero() {
		sv.AfterReadySeconds = nonNeg(r.Exited.Sub(r.DepsReady).Seconds())
		sv.Slow = maxInit > 0 && sv.AfterReadySeconds >= maxInit
	}
	return sv
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func nonNeg(f float64) float64 {
	if f < 0 {
		return 0
	}
	return f
}

func initExitCheck(m *compose.Model, services []report.ServiceVerdict) report.Check {
	c := report.Check{ID: report.ReqInitExit, Title: "every init service exited 0"}
	for _, s := range services {
		if s.Role != string(compose.RoleInit) {
			continue
		}
		r := report.CheckResult{Service: s.Name, Status: report.Pass, Message: "exited 0"}
		if s.Retries > 0 {
			r.Message += fmt.Sprintf(" after %s (restart: on-failure)", plural(s.Retries, "retry", "retries"))
		}
		if s.RoleObserved {
			r.Message += "; a one-shot by observation: its restart policy let it stay exited, and it exited"
		}
		if s.Outcome != "ok" {
			r.Status, r.Message = report.Fail, s.Outcome
			if s.Detail != "" && !strings.Contains(s.Outcome, s.Detail) {
				r.Message += ": " + s.Detail
			}
			if s.Retries > 0 {
				r.Message += fmt.Sprintf(" (after %s)", plural(s.Retries, "retry", "retries"))
			}
		}
		c.Results = append(c.Results, r)
	}
	if len(c.Results) == 0 {
		c.Status, c.Reason = report.Skip, "the project has no init services"
	}
	return c
}

func nfrCheck(m *compose.Model, services []report.ServiceVerdict, maxInit float64) report.Check {
	c := report.Check{ID: report.ReqNFR60, Title: fmt.Sprintf("every init finished within %.0f s of its targets being ready", maxInit)}
	for _, s := range services {
		if s.Role != string(compose.RoleInit) || s.ExitCode == nil {
			continue
		}
		r := report.CheckResult{Service: s.Name, Status: report.Pass, Message: fmt.Sprintf("%.1f s after its targets were ready", s.AfterReadySeconds)}
		if s.Slow {
			r.Status = report.Fail
		}
		c.Results = append(c.Results, r)
	}
	if len(c.Results) == 0 {
		c.Status, c.Reason = report.Skip, "no init ran to completion"
	}
	return c
}

// sortServices orders the verdict by stage, then name: the order things ran.
func sortServices(m *compose.Model, s []report.ServiceVerdict) {
	stage := func(n string) int { return replicaOf(m, n).Stage }
	for i := 1; i < len(s); i++ {
		for j := i; j > 0; j-- {
			a, b := s[j-1], s[j]
			if stage(a.Name) > stage(b.Name) || stage(a.Name) == stage(b.Name) && a.Name > b.Name {
				s[j-1], s[j] = b, a
			}
		}
	}
}

// progress prints one plain line per state change, for CI logs and
// terminals alike.
type progress struct {
	w      io.Writer
	clock  clockwork.Clock
	start  time.Time
	red    *redact.Redactor
	mu     sync.Mutex
	last   map[string]string
	live   *report.Live // nil: plain lines
	styles report.Styles
}

func newProgress(w io.Writer, clock clockwork.Clock, start time.Time, red *redact.Redactor) *progress {
	return &progress{w: w, clock: clock, start: start, red: red, last: map[string]string{}}
}

func (p *progress) observe(r scheduler.Result) {
	if p.w == nil {
		return
	}
	state := "created"
	switch {
	case r.Outcome == scheduler.Blocked:
		state = "blocked by " + r.BlockedBy
	case r.Outcome == scheduler.Failed && !r.Exited.IsZero():
		state = fmt.Sprintf("failed (exit %d)", r.ExitCode)
	case r.Restarting:
		state = r.Detail
	case r.Outcome != "":
		state = string(r.Outcome)
		if (r.Init || r.Observed) && r.Outcome == scheduler.OK {
			state = "exited 0"
			if r.Observed {
				state += " (a one-shot, observed)"
			}
			if r.Retries > 0 {
				state += " after " + plural(r.Retries, "retry", "retries")
			}
		}
		if !r.Init && !r.Observed && r.Outcome == scheduler.OK && r.ReadyBy != "" {
			state = "ready (" + r.ReadyBy + ")"
		}
	case r.Reused && !r.Started.IsZero():
		state = "running (kept)"
	case !r.Started.IsZero():
		state = "started"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last[r.Name] == state {
		return
	}
	p.last[r.Name] = state
	if p.live != nil {
		p.redraw(r, state)
		return
	}
	line := fmt.Sprintf("%6.1fs  %-24s %s", p.clock.Since(p.start).Seconds(), r.Name, state)
	if r.Detail != "" && r.Outcome != "" && r.Outcome != scheduler.OK {
		line += ": " + r.Detail
	}
	fmt.Fprintln(p.w, p.red.Terminal(line))
}

// redraw hands the service's line (state and elapsed time) to the live
// view, which redraws on its own goroutine.
func (p *progress) redraw(r scheduler.Result, state string) {
	style := p.styles.Dim
	switch {
	case r.Outcome == scheduler.OK:
		style = p.styles.OK
	case r.Outcome != "":
		style = p.styles.Fail
	case !r.Started.IsZero():
		style = p.styles.Warn
	}
	line := fmt.Sprintf("%-24s %s  %5.1fs", r.Name, state, p.clock.Since(p.start).Seconds())
	if r.Detail != "" && r.Outcome != "" && r.Outcome != scheduler.OK {
		line += ": " + r.Detail
	}
	p.live.Set(r.Name, style.Render(p.red.Terminal(line)))
}
