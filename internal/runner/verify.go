package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/dockerapi"
	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/lint"
	"github.com/infractl/infractl/internal/provision"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/scheduler"
)

// VerifyOptions select verify's checks.
type VerifyOptions struct {
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
	Audit     bool
	TailLines int
	Progress  io.Writer
}

// Verify checks a running project, whoever started it.
func Verify(ctx context.Context, cli *client.Client, m *compose.Model, opts VerifyOptions) (report.Verdict, error) {
	start := time.Now()
	v := report.Verdict{Command: "verify", Project: m.Project.Name}
	red := redact.ForProject(m.Project)
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "%6.1fs  %s\n", time.Since(start).Seconds(), red.String(fmt.Sprintf(format, args...)))
		}
	}

	v.Checks = append(v.Checks, composeCheck(m))

	say("inspecting the project's containers")
	cs, err := dockerapi.ProjectContainers(ctx, cli, m.Project.Name)
	if err != nil {
		return v, err
	}
	current := map[string]container.InspectResponse{}
	for _, c := range cs {
		if c.Labels[dockerapi.LabelOneoff] == "True" {
			continue
		}
		insp, err := cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			return v, fmt.Errorf("inspect %s: %v: %w", c.ID, err, dockerapi.ErrEngine)
		}
		current[c.Labels[dockerapi.LabelService]] = insp.Container
	}

	exitCheck := report.Check{ID: report.ReqInitExit, Title: "every init exited 0; backends run and are healthy"}
	nfr := report.Check{ID: report.ReqNFR60, Title: fmt.Sprintf("every init finished within %.0f s of its targets being ready", opts.MaxInitSeconds)}
	leaks := report.Check{ID: report.ReqSecrets, Title: "no init log contains a secret value"}
	logs := map[string]string{}
	for _, n := range m.Names {
		s := m.Services[n]
		if s.Hook != nil {
			continue
		}
		c, ok := current[n]
		sv := report.ServiceVerdict{Name: n, Role: string(s.Role), Outcome: "ok"}
		if ok {
			sv.Container = strings.TrimPrefix(c.Name, "/")
		}
		res := report.CheckResult{Service: n, Status: report.Pass}
		switch {
		case !ok:
			res.Status, res.Message = report.Fail, "never ran (no container)"
		case stale(m, s, c):
			res.Status, res.Message = report.Fail, "stale: its container's configuration no longer matches the project (run infractl up)"
		case s.Role == compose.RoleInit:
			res.Message, res.Status = initState(c)
		default:
			res.Message, res.Status = backendState(c)
			if c.State != nil && c.State.Running && c.State.Health != nil && c.State.Health.Status == container.Starting {
				// Docker has not run its next check yet (infractl up may
				// have seen readiness first): run the same test now.
				if ok, out, _ := dockerapi.ProbeContainer(ctx, cli, c); ok {
					res.Message, res.Status = "running, healthy (its healthcheck passed when run now; Docker's next check is pending)", report.Pass
				} else if out != "" {
					res.Message += ": " + strings.TrimSpace(out)
				}
			}
		}
		if ok && c.State != nil && s.Role == compose.RoleInit && (c.State.StartedAt != "" && !strings.HasPrefix(c.State.StartedAt, "0001")) {
			raw, err := dockerapi.Logs(ctx, cli, c.ID)
			if err == nil {
				logs[n] = string(raw)
				sv.Log = red.String(string(raw))
				if res.Status == report.Fail {
					sv.LogTail = tail(sv.Log, opts.TailLines)
				}
				lr := report.CheckResult{Service: n, Status: report.Pass, Message: "no secret value in its log"}
				if red.Contains(string(raw)) {
					lr.Status, lr.Message = report.Fail, "its log contains a secret value: "+firstLeak(red, string(raw))
				}
				leaks.Results = append(leaks.Results, lr)
			}
			if c.State.ExitCode == 0 && !c.State.Running {
				secs, approx := afterReady(m, s, c, current)
				r := report.CheckResult{Service: n, Status: report.Pass, Message: fmt.Sprintf("%.1f s after its targets were ready%s", secs, approx)}
				if secs >= opts.MaxInitSeconds {
					r.Status = report.Fail
				}
				nfr.Results = append(nfr.Results, r)
			}
		}
		if res.Status == report.Fail {
			sv.Outcome = res.Message
		}
		if s.Role == compose.RoleInit || res.Status == report.Fail {
			exitCheck.Results = append(exitCheck.Results, res)
		}
		v.Services = append(v.Services, sv)
	}
	if len(nfr.Results) == 0 {
		nfr.Status, nfr.Reason = report.Skip, "no init has exited 0"
	}
	if len(leaks.Results) == 0 {
		leaks.Status, leaks.Reason = report.Skip, "no init has run"
	}
	v.Checks = append(v.Checks, exitCheck, nfr, leaks)

	var pr *dockerapi.Project
	if opts.Rerun || opts.Blocking {
		fresh := map[string]bool{}
		for _, s := range m.Inits() {
			fresh[s.Name] = true
		}
		pr, err = dockerapi.NewProject(ctx, cli, m.Project, fresh)
		if err != nil {
			if errors.Is(err, dockerapi.ErrUnsupported) {
				return v, fmt.Errorf("%v: %w", err, compose.ErrInvalidProject)
			}
			return v, err
		}
	}
	if opts.Rerun {
		say("VAL-SPC-101: running every init again in fresh containers")
		c, err := rerun(ctx, pr, m, red, current, opts)
		v.Checks = append(v.Checks, c)
		if err != nil {
			return finishVerdict(v, start), err
		}
	} else {
		v.Checks = append(v.Checks, report.Check{ID: report.ReqIdempotent, Title: "every init exits 0 when run again", Status: report.Skip, Reason: "run with --rerun"})
	}
	if opts.Blocking {
		say("VAL-SPC-102: stopping targets to prove each init blocks and fails fast")
		c, err := blocking(ctx, cli, pr, m, current, opts, say)
		v.Checks = append(v.Checks, c)
		if err != nil {
			return finishVerdict(v, start), err
		}
	} else {
		v.Checks = append(v.Checks, report.Check{ID: report.ReqBlocking, Title: "inits block while their targets are down, then succeed, and fail fast when they never come", Status: report.Skip, Reason: "run with --blocking (it stops backends)"})
	}
	if opts.Audit {
		say("VAL-SPC-103: checking the declared resources in their backends")
		v.Checks = append(v.Checks, audit(ctx, m, current))
	} else {
		v.Checks = append(v.Checks, report.Check{ID: report.ReqAudit, Title: "provisioned resources exist in their backend", Status: report.Skip, Reason: "run with --audit"})
	}
	return finishVerdict(v, start), nil
}

func finishVerdict(v report.Verdict, start time.Time) report.Verdict {
	v.WallSeconds = time.Since(start).Seconds()
	v.Finish()
	return v
}

func composeCheck(m *compose.Model) report.Check {
	c := report.Check{ID: report.ReqCompose, Title: "the project loads as docker compose config -q would, and lint finds no errors"}
	byService := map[string][]string{}
	for _, f := range lint.Check(m) {
		if f.Severity == lint.Error {
			key := f.Service
			byService[key] = append(byService[key], fmt.Sprintf("%s %s at %s:%d: %s", f.Rule, f.Name, f.File, f.Line, f.Message))
		}
	}
	for _, n := range m.Names {
		r := report.CheckResult{Service: n, Status: report.Pass, Message: "loads; no lint errors"}
		if fs := byService[n]; len(fs) > 0 {
			r.Status, r.Message = report.Fail, strings.Join(fs, "; ")
		}
		c.Results = append(c.Results, r)
	}
	return c
}

// stale reports whether a container no longer matches the service: its
// config hash is neither docker compose v2.40.3's nor compose-go v2.16.2's
// for the service (dockerapi.ServiceHashes); for a container another
// compose release created, whose compose-go marshals differently, the
// image, command and entrypoint decide.
func stale(m *compose.Model, s *compose.Service, c container.InspectResponse) bool {
	if c.Config == nil {
		return false
	}
	hashes, err := dockerapi.ServiceHashes(s.Config)
	if err != nil || slices.Contains(hashes, c.Config.Labels[dockerapi.LabelConfigHash]) {
		return false
	}
	if c.Config.Labels[dockerapi.LabelManagedBy] == "infractl" {
		return true
	}
	if img := dockerapi.ImageName(m.Project.Name, s.Config); img != c.Config.Image {
		return true
	}
	if len(s.Config.Command) > 0 && strings.Join(s.Config.Command, "\x00") != strings.Join(c.Config.Cmd, "\x00") {
		return true
	}
	if len(s.Config.Entrypoint) > 0 && strings.Join(s.Config.Entrypoint, "\x00") != strings.Join(c.Config.Entrypoint, "\x00") {
		return true
	}
	return false
}

func initState(c container.InspectResponse) (string, report.Status) {
	st := c.State
	switch {
	case st == nil || strings.HasPrefix(st.StartedAt, "0001"):
		return "never ran (created, never started)", report.Fail
	case st.Running:
		return "still running", report.Fail
	case st.ExitCode != 0:
		return fmt.Sprintf("failed (exit %d)", st.ExitCode), report.Fail
	}
	return "exited 0", report.Pass
}

func backendState(c container.InspectResponse) (string, report.Status) {
	st := c.State
	if st == nil || !st.Running {
		if st != nil && st.Status == container.StateExited && st.ExitCode == 0 {
			return "exited 0", report.Pass
		}
		code := 0
		if st != nil {
			code = st.ExitCode
		}
		return fmt.Sprintf("not running (exit %d)", code), report.Fail
	}
	if st.Health != nil {
		switch st.Health.Status {
		case container.Healthy:
			return "running, healthy", report.Pass
		case container.Unhealthy:
			out := ""
			if n := len(st.Health.Log); n > 0 {
				out = ": " + strings.TrimSpace(st.Health.Log[n-1].Output)
			}
			return "unhealthy" + out, report.Fail
		}
		return "running, health " + string(st.Health.Status), report.Fail
	}
	return "running", report.Pass
}

// afterReady estimates the time from an init's targets being ready to its
// exit, from the engine's own timestamps.
func afterReady(m *compose.Model, s *compose.Service, c container.InspectResponse, all map[string]container.InspectResponse) (float64, string) {
	started := parse(c.State.StartedAt)
	finished := parse(c.State.FinishedAt)
	ready := time.Time{}
	approx := ""
	for _, e := range s.Deps {
		t, ok := all[e.To]
		if !ok || t.State == nil {
			continue
		}
		var at time.Time
		switch e.Condition {
		case compose.ConditionCompleted:
			at = parse(t.State.FinishedAt)
		case compose.ConditionHealthy:
			if t.State.Health != nil {
				for _, l := range t.State.Health.Log {
					if l != nil && l.ExitCode == 0 && !l.End.After(started) && (at.IsZero() || l.End.Before(at)) {
						at = l.End
					}
				}
			}
			if at.IsZero() {
				// The health log rotated past the init's start: the init's
				// own start is the closest evidence.
				at, approx = started, " (approximate: the health log no longer reaches back)"
			}
		default:
			at = parse(t.State.StartedAt)
		}
		if at.After(started) {
			at = started
		}
		if at.After(ready) {
			ready = at
		}
	}
	if ready.IsZero() {
		ready = started
	}
	return finished.Sub(ready).Seconds(), approx
}

func parse(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func firstLeak(red *redact.Redactor, log string) string {
	for _, l := range strings.Split(log, "\n") {
		if red.Contains(l) {
			return strings.TrimSpace(red.String(l))
		}
	}
	return ""
}

// rerun runs every init again, in dependency order among inits, in fresh
// containers; backends are running (verified above) and count as ready.
func rerun(ctx context.Context, pr *dockerapi.Project, m *compose.Model, red *redact.Redactor,
	current map[string]container.InspectResponse, opts VerifyOptions,
) (report.Check, error) {
	c := report.Check{ID: report.ReqIdempotent, Title: "every init exits 0 when run again (second run, fresh containers)"}
	isInit := map[string]bool{}
	for _, s := range m.Inits() {
		isInit[s.Name] = true
	}
	// An init whose backends are not running cannot be rerun: skipped, and
	// so are the inits that wait on it.
	skipped := map[string]string{}
	for changed := true; changed; {
		changed = false
		for _, s := range m.Inits() {
			if _, done := skipped[s.Name]; done {
				continue
			}
			for _, e := range s.Deps {
				t := current[e.To]
				switch {
				case isInit[e.To]:
					if _, ok := skipped[e.To]; ok {
						skipped[s.Name], changed = fmt.Sprintf("waits on %q, which was not rerun", e.To), true
					}
				case t.State == nil || !t.State.Running:
					skipped[s.Name], changed = fmt.Sprintf("its target %q is not running", e.To), true
				}
				if _, ok := skipped[s.Name]; ok {
					break
				}
			}
		}
	}
	var nodes []scheduler.Node
	for _, s := range m.Inits() {
		if s.Hook != nil {
			continue
		}
		if why, ok := skipped[s.Name]; ok {
			c.Results = append(c.Results, report.CheckResult{Service: s.Name, Status: report.Skip, Message: why})
			continue
		}
		n := scheduler.Node{Name: s.Name, Init: true}
		for _, e := range s.Deps {
			if isInit[e.To] {
				n.Deps = append(n.Deps, scheduler.Dep{Target: e.To, Condition: scheduler.Condition(e.Condition), Required: e.Required})
			}
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 {
		c.Status, c.Reason = report.Skip, "no init can be rerun"
		return c, nil
	}
	results, err := scheduler.New(pr, nil, scheduler.Options{InitTimeout: opts.FailFastWithin + 5*time.Minute}).Run(ctx, nodes)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, r := range results {
		res := report.CheckResult{Service: r.Name, Status: report.Pass, Message: "second run exited 0"}
		if r.Outcome != scheduler.OK {
			res.Status = report.Fail
			switch {
			case r.Outcome == scheduler.Failed && !r.Exited.IsZero():
				res.Message = fmt.Sprintf("second run failed (exit %d): not idempotent", r.ExitCode)
			case r.Outcome == scheduler.Blocked:
				res.Message = "second run blocked by " + r.BlockedBy
			default:
				res.Message = "second run " + string(r.Outcome) + " " + r.Detail
			}
			if r.ContainerID != "" {
				if raw, err := pr.Logs(lctx, r.ContainerID); err == nil {
					if t := tail(red.String(string(raw)), 5); len(t) > 0 {
						res.Message += ": " + strings.Join(t, " | ")
					}
				}
			}
		}
		c.Results = append(c.Results, res)
	}
	return c, err
}

// blocking proves, for each init, that it waits while its targets are down
// and then succeeds (REQ-AUTO-02), and that it exits non-zero within its
// retry budget when they never come (REQ-SPC-AUTO-002, REQ-AUTO-03). The
// stack is restored as it was found, also on failure or Ctrl-C.
func blocking(ctx context.Context, cli *client.Client, pr *dockerapi.Project, m *compose.Model, current map[string]container.InspectResponse,
	opts VerifyOptions, say func(string, ...any),
) (report.Check, error) {
	c := report.Check{ID: report.ReqBlocking, Title: "inits block while their targets are down, then succeed, and fail fast when they never come"}
	restore := context.WithoutCancel(ctx)
	for _, s := range m.Inits() {
		if s.Hook != nil {
			continue
		}
		var targets []string
		for _, e := range s.Deps {
			if m.Services[e.To].Role != compose.RoleInit && e.Condition != compose.ConditionCompleted {
				targets = append(targets, e.To)
			}
		}
		sort.Strings(targets)
		if len(targets) == 0 {
			c.Results = append(c.Results, report.CheckResult{Service: s.Name, Status: report.Skip, Message: "waits on no backend"})
			continue
		}
		res := blockOne(ctx, restore, cli, pr, s.Name, targets, current, opts, say)
		c.Results = append(c.Results, res)
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
	}
	return c, nil
}

func blockOne(ctx, restore context.Context, cli *client.Client, pr *dockerapi.Project, init string, targets []string,
	current map[string]container.InspectResponse, opts VerifyOptions, say func(string, ...any),
) report.CheckResult {
	res := report.CheckResult{Service: init, Status: report.Pass}
	var ids []string
	for _, t := range targets {
		c, ok := current[t]
		if !ok || c.State == nil || !c.State.Running {
			res.Status, res.Message = report.Skip, fmt.Sprintf("target %q is not running", t)
			return res
		}
		ids = append(ids, c.ID)
	}
	stop := func() error {
		for _, id := range ids {
			timeout := 5
			if _, err := cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
				return err
			}
		}
		return nil
	}
	start := func(c context.Context) error {
		for _, id := range ids {
			if _, err := cli.ContainerStart(c, id, client.ContainerStartOptions{}); err != nil {
				return err
			}
		}
		return waitHealthy(c, cli, ids, 3*time.Minute)
	}
	defer func() {
		// Restore the stack as it was found, whatever happened.
		if err := start(restore); err != nil {
			res.Status, res.Message = report.Fail, res.Message+"; could not restore the targets: "+err.Error()
		}
	}()

	say("%s: stopping %s", init, strings.Join(targets, ", "))
	if err := stop(); err != nil {
		res.Status, res.Message = report.Fail, "could not stop the targets: "+err.Error()
		return res
	}
	// Phase 1: it must wait, then succeed once the targets are back.
	id, err := pr.CreateOneOff(ctx, init, "verify-blocking")
	if err != nil {
		res.Status, res.Message = report.Fail, err.Error()
		return res
	}
	defer func() { _ = pr.Remove(restore, id) }()
	if err := pr.Start(ctx, id); err != nil {
		res.Status, res.Message = report.Fail, "start: "+err.Error()
		return res
	}
	if st := waitExit(ctx, cli, id, opts.Grace); st.Exited {
		res.Status = report.Fail
		if st.ExitCode == 0 {
			res.Message = fmt.Sprintf("exited 0 after less than %s with its targets down: it does not wait for them", opts.Grace)
		} else {
			res.Message = fmt.Sprintf("exited %d after less than %s with its targets down: it does not wait for them", st.ExitCode, opts.Grace)
		}
		return res
	}
	say("%s: still waiting after %s; starting %s", init, opts.Grace, strings.Join(targets, ", "))
	if err := start(ctx); err != nil {
		res.Status, res.Message = report.Fail, "could not start the targets: "+err.Error()
		return res
	}
	st := waitExit(ctx, cli, id, opts.FailFastWithin)
	switch {
	case !st.Exited:
		res.Status, res.Message = report.Fail, fmt.Sprintf("still running %s after its targets came back", opts.FailFastWithin)
		return res
	case st.ExitCode != 0:
		res.Status, res.Message = report.Fail, fmt.Sprintf("exited %d after its targets came back", st.ExitCode)
		return res
	}
	// Phase 2: with the targets kept down, it must give up with a non-zero
	// exit within its retry budget.
	say("%s: stopping %s again; it must fail fast", init, strings.Join(targets, ", "))
	if err := stop(); err != nil {
		res.Status, res.Message = report.Fail, "could not stop the targets: "+err.Error()
		return res
	}
	id2, err := pr.CreateOneOff(ctx, init, "verify-failfast")
	if err != nil {
		res.Status, res.Message = report.Fail, err.Error()
		return res
	}
	defer func() { _ = pr.Remove(restore, id2) }()
	began := time.Now()
	if err := pr.Start(ctx, id2); err != nil {
		res.Status, res.Message = report.Fail, "start: "+err.Error()
		return res
	}
	st = waitExit(ctx, cli, id2, opts.FailFastWithin)
	switch {
	case !st.Exited:
		_ = pr.Stop(restore, id2)
		res.Status, res.Message = report.Fail, fmt.Sprintf("blocked, then succeeded; but with its targets down it was still waiting after %s: it never fails fast", opts.FailFastWithin)
	case st.ExitCode == 0:
		res.Status, res.Message = report.Fail, "exited 0 with its targets down: it does not check them"
	default:
		res.Message = fmt.Sprintf("blocked, then exited 0 once its targets came back; with them down it exited %d after %.1f s", st.ExitCode, time.Since(began).Seconds())
	}
	return res
}

type exitState struct {
	Exited   bool
	ExitCode int
}

// waitExit waits up to d for a container to exit.
func waitExit(ctx context.Context, cli *client.Client, id string, d time.Duration) exitState {
	deadline := time.Now().Add(d)
	for {
		insp, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err == nil && insp.Container.State != nil && !insp.Container.State.Running && insp.Container.State.Status == container.StateExited {
			return exitState{true, insp.Container.State.ExitCode}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return exitState{}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitHealthy(ctx context.Context, cli *client.Client, ids []string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for _, id := range ids {
		for {
			insp, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
			if err != nil {
				return err
			}
			st := insp.Container.State
			if st.Running && (st.Health == nil || st.Health.Status == container.Healthy) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not healthy after %s", strings.TrimPrefix(insp.Container.Name, "/"), d)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

// audit checks every resource the project declares (x-infractl) against
// its backend, from the host: service names and aliases resolve through the
// Engine API to the containers' addresses, so the audit sees what the inits
// saw.
func audit(ctx context.Context, m *compose.Model, current map[string]container.InspectResponse) report.Check {
	c := report.Check{ID: report.ReqAudit, Title: "provisioned resources exist in their backend"}
	decls, err := provision.Declarations(m)
	if err != nil {
		c.Status, c.Reason = report.Fail, err.Error()
		return c
	}
	if len(decls) == 0 {
		c.Status, c.Reason = report.Skip, "no init declares its resources (x-infractl)"
		return c
	}
	env := provision.Env{
		Secrets: provision.HostSecrets(m),
		Dial:    EngineDialer(current),
		Retry:   provision.Retry{MaxRetries: 3, Deadline: 15 * time.Second},
	}
	for _, d := range decls {
		for _, p := range provision.For(d, env) {
			items, err := p.Check(ctx)
			for _, it := range items {
				r := report.CheckResult{Service: d.Service, Status: report.Pass, Message: fmt.Sprintf("%s %s: %s", it.Backend, it.Resource, it.Status)}
				if it.Detail != "" {
					r.Message += " (" + it.Detail + ")"
				}
				if it.Bad() {
					r.Status = report.Fail
				}
				c.Results = append(c.Results, r)
			}
			if err != nil {
				c.Results = append(c.Results, report.CheckResult{Service: d.Service, Status: report.Fail, Message: err.Error()})
			}
		}
	}
	return c
}

// EngineDialer resolves service names, aliases and container names to the
// containers' addresses (as Docker DNS does inside the network) and dials.
func EngineDialer(current map[string]container.InspectResponse) provision.Dialer {
	addrs := map[string]string{}
	for svc, c := range current {
		if c.NetworkSettings == nil {
			continue
		}
		for _, ep := range c.NetworkSettings.Networks {
			if ep == nil || !ep.IPAddress.IsValid() {
				continue
			}
			ip := ep.IPAddress.String()
			addrs[svc] = ip
			addrs[strings.TrimPrefix(c.Name, "/")] = ip
			for _, a := range ep.Aliases {
				addrs[a] = ip
			}
		}
	}
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil {
			if ip, ok := addrs[host]; ok {
				addr = net.JoinHostPort(ip, port)
			}
		}
		return d.DialContext(ctx, network, addr)
	}
}
