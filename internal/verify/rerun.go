package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/scheduler"
	"github.com/infractl/infractl/internal/up"
)

// rerunCheck is VAL-SPC-101: every init runs again in a fresh container,
// in dependency order among inits, and exits 0 again; backends are running
// and count as ready.
type rerunCheck struct{ enabled bool }

func (rerunCheck) ID() string { return report.ReqIdempotent }

func (r rerunCheck) Run(ctx context.Context, env *Env) (report.Check, error) {
	if !r.enabled {
		return skipped(report.ReqIdempotent, "every init exits 0 when run again", "run with --rerun"), nil
	}
	env.Say("VAL-SPC-101: running every init again in fresh containers")
	m := env.Model
	c := report.Check{ID: report.ReqIdempotent, Title: "every init exits 0 when run again (second run, fresh containers)"}
	pr, err := env.Project(ctx)
	if err != nil {
		return c, err
	}
	isInit := map[string]bool{}
	for _, s := range m.Inits() {
		isInit[s.Name] = true
	}
	skip := rerunSkips(env, isInit)
	var nodes []scheduler.Node
	for _, s := range m.Inits() {
		if why, ok := skip[s.Name]; ok {
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
	results, err := scheduler.New(pr, env.Opts.Clock, scheduler.Options{InitTimeout: env.Opts.FailFastWithin + 5*time.Minute, Idle: env.Opts.Idle}).Run(ctx, nodes)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, r := range results {
		res := report.CheckResult{Service: r.Name, Status: report.Pass, Message: "second run exited 0"}
		if m.Services[r.Name].Hook != nil && r.Outcome == scheduler.OK && r.ContainerID != "" {
			_ = pr.Remove(lctx, r.ContainerID) // as after up: a hook that succeeded leaves no container
		}
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
					if t := report.Tail(env.Red.String(string(raw)), 5); len(t) > 0 {
						res.Message += ": " + strings.Join(t, " | ")
					}
				}
			}
		}
		c.Results = append(c.Results, res)
	}
	if err != nil && ctx.Err() == nil {
		// The engine failed or was lost: exit 3, not a failed check.
		err = up.Classify(err)
	}
	return c, err
}

// rerunSkips names the inits that cannot be rerun, and why: a target that
// is not running, or an init they wait on that is skipped.
func rerunSkips(env *Env, isInit map[string]bool) map[string]string {
	skipped := map[string]string{}
	for changed := true; changed; {
		changed = false
		for _, s := range env.Model.Inits() {
			if _, done := skipped[s.Name]; done {
				continue
			}
			for _, e := range s.Deps {
				t, ok := env.Current[e.To]
				switch {
				case isInit[e.To]:
					if _, ok := skipped[e.To]; ok {
						skipped[s.Name], changed = fmt.Sprintf("waits on %q, which was not rerun", e.To), true
					}
				case !ok || !t.State.Running:
					skipped[s.Name], changed = fmt.Sprintf("its target %q is not running", e.To), true
				}
				if _, ok := skipped[s.Name]; ok {
					break
				}
			}
		}
	}
	return skipped
}
