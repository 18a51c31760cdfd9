package verify

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/report"
)

// blockingCheck is VAL-SPC-102: for each init, with its targets stopped it
// keeps waiting (REQ-AUTO-02), then exits 0 once they are back; with them
// kept down it exits non-zero within FailFastWithin (REQ-SPC-AUTO-002,
// REQ-AUTO-03). The stack is restored as it was found, also on failure or
// Ctrl-C. Every wait is on the engine's events.
type blockingCheck struct{ enabled bool }

func (blockingCheck) ID() string { return report.ReqBlocking }

const blockingTitle = "inits block while their targets are down, then succeed, and fail fast when they never come"

func (b blockingCheck) Run(ctx context.Context, env *Env) (report.Check, error) {
	if !b.enabled {
		return skipped(report.ReqBlocking, blockingTitle, "run with --blocking (it stops backends)"), nil
	}
	env.Say("VAL-SPC-102: stopping targets to prove each init blocks and fails fast")
	c := report.Check{ID: report.ReqBlocking, Title: blockingTitle}
	pr, err := env.Project(ctx)
	if err != nil {
		return c, err
	}
	m := env.Model
	for _, s := range m.Inits() {
		if s.Hook != nil {
			// A hook runs only before its service starts: there is no
			// running init to hold back by stopping a target.
			c.Results = append(c.Results, report.CheckResult{Service: s.Name, Status: report.Skip,
				Message: "not tested: a pre_start hook runs only before its service starts, so stopping a target cannot make it wait"})
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
		c.Results = append(c.Results, blockOne(ctx, env, pr, s.Name, targets))
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
	}
	if !slices.ContainsFunc(c.Results, func(r report.CheckResult) bool { return r.Status != report.Skip }) {
		// Nothing was tested: the check says so, never "pass".
		c.Status, c.Reason = report.Skip, "no init could be tested"
		if len(c.Results) == 0 {
			c.Reason = "the project has no init services"
		}
	}
	return c, nil
}

func blockOne(ctx context.Context, env *Env, pr engine.Project, init string, targets []string) report.CheckResult {
	opts := env.Opts
	restore := context.WithoutCancel(ctx)
	res := report.CheckResult{Service: init, Status: report.Pass}
	var ids []string
	for _, t := range targets {
		c, ok := env.Current[t]
		if !ok || !c.State.Running {
			res.Status, res.Message = report.Skip, fmt.Sprintf("target %q is not running", t)
			return res
		}
		ids = append(ids, c.ID)
	}
	stop := func() error {
		for _, id := range ids {
			if err := pr.Stop(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}
	start := func(c context.Context) error {
		for _, id := range ids {
			if err := pr.Start(c, id); err != nil {
				return err
			}
		}
		if _, ok, err := engine.WaitFor(c, pr, env.Opts.Clock, ids, 3*time.Minute, engine.State.Ready); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%s not ready after 3m0s", strings.Join(targets, ", "))
		}
		return nil
	}
	defer func() {
		// Restore the stack as it was found, whatever happened.
		if err := start(restore); err != nil {
			res.Status, res.Message = report.Fail, res.Message+"; could not restore the targets: "+err.Error()
		}
	}()
	exited := func(id string, d time.Duration) (engine.State, bool) {
		st, ok, _ := engine.WaitFor(ctx, pr, env.Opts.Clock, []string{id}, d, engine.State.Finished)
		return st[id], ok
	}

	env.Say("%s: stopping %s", init, strings.Join(targets, ", "))
	if err := stop(); err != nil {
		res.Status, res.Message = report.Fail, "could not stop the targets: "+err.Error()
		return res
	}
	// Phase 1: it must wait, then succeed once the targets are back.
	id, err := runOneOff(ctx, pr, init, "verify-blocking")
	defer func() { _ = pr.Remove(restore, id) }()
	if err != nil {
		res.Status, res.Message = report.Fail, err.Error()
		return res
	}
	if st, done := exited(id, opts.Grace); done {
		res.Status = report.Fail
		res.Message = fmt.Sprintf("exited %d after less than %s with its targets down: it does not wait for them", st.ExitCode, opts.Grace)
		return res
	}
	env.Say("%s: still waiting after %s; starting %s", init, opts.Grace, strings.Join(targets, ", "))
	if err := start(ctx); err != nil {
		res.Status, res.Message = report.Fail, "could not start the targets: "+err.Error()
		return res
	}
	st, done := exited(id, opts.FailFastWithin)
	switch {
	case !done:
		res.Status, res.Message = report.Fail, fmt.Sprintf("still running %s after its targets came back", opts.FailFastWithin)
		return res
	case st.ExitCode != 0:
		res.Status, res.Message = report.Fail, fmt.Sprintf("exited %d after its targets came back", st.ExitCode)
		return res
	}
	// Phase 2: with the targets kept down, it must give up with a non-zero
	// exit within its retry budget.
	env.Say("%s: stopping %s again; it must fail fast", init, strings.Join(targets, ", "))
	if err := stop(); err != nil {
		res.Status, res.Message = report.Fail, "could not stop the targets: "+err.Error()
		return res
	}
	id2, err := runOneOff(ctx, pr, init, "verify-failfast")
	defer func() { _ = pr.Remove(restore, id2) }()
	if err != nil {
		res.Status, res.Message = report.Fail, err.Error()
		return res
	}
	st, done = exited(id2, opts.FailFastWithin)
	switch {
	case !done:
		_ = pr.Stop(restore, id2)
		res.Status, res.Message = report.Fail, fmt.Sprintf("blocked, then succeeded; but with its targets down it was still waiting after %s: it never fails fast", opts.FailFastWithin)
	case st.ExitCode == 0:
		res.Status, res.Message = report.Fail, "exited 0 with its targets down: it does not check them"
	default:
		res.Message = fmt.Sprintf("blocked, then exited 0 once its targets came back; with them down it exited %d after %.1f s", st.ExitCode, st.FinishedAt.Sub(st.StartedAt).Seconds())
	}
	return res
}

// runOneOff creates and starts a one-off container of service; the id is
// returned whenever it was created, so the caller can remove it.
func runOneOff(ctx context.Context, pr engine.Project, service, suffix string) (string, error) {
	id, err := pr.CreateOneOff(ctx, service, suffix)
	if err != nil || id == "" {
		return id, err
	}
	if err := pr.Start(ctx, id); err != nil {
		return id, fmt.Errorf("start: %w", err)
	}
	return id, nil
}
