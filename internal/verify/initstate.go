package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/report"
)

// initStateCheck is VAL-AUTO-002: every init has a container that exited 0
// ("never ran", "still running", "failed (exit N)" and "stale" are
// distinct), and backends run and are healthy. It also fills the verdict's
// per-service lines.
type initStateCheck struct{}

func (initStateCheck) ID() string { return report.ReqInitExit }

func (initStateCheck) Run(ctx context.Context, env *Env) (report.Check, error) {
	m := env.Model
	c := report.Check{ID: report.ReqInitExit, Title: "every init exited 0; backends run and are healthy"}
	for _, n := range m.Names {
		s := m.Services[n]
		ctr, ok := env.Current[n]
		sv := report.ServiceVerdict{Name: n, Role: string(s.Role), Outcome: "ok"}
		if ok {
			sv.Container = ctr.Name
		}
		res := report.CheckResult{Service: n, Status: report.Pass}
		svc, svcOK := engine.Container{}, false
		if s.Hook != nil {
			svc, svcOK = env.Current[s.Hook.Service]
		}
		switch {
		case s.Hook != nil && ok:
			// A runner is kept when its hook failed (or ran last in a
			// --rerun): its exit is the hook's result.
			res.Message, res.Status = InitState(ctr.State)
		case s.Hook != nil && laterRunner(env, s.Hook) != "":
			res.Message = fmt.Sprintf("exited 0 before %s ran (a hook that succeeds leaves no container)", laterRunner(env, s.Hook))
		case s.Hook != nil && svcOK && (svc.State.Running || svc.State.Exited):
			res.Message = fmt.Sprintf("ran before %q started (a hook that succeeds leaves no container, in docker compose as in infractl)", s.Hook.Service)
		case s.Hook != nil && svcOK:
			res.Status, res.Message = report.Fail, fmt.Sprintf("%q never started, and no runner of this hook is left to say why", s.Hook.Service)
		case !ok:
			res.Status, res.Message = report.Fail, "never ran (no container)"
		case Stale(s, ctr):
			res.Status, res.Message = report.Fail, "stale: its container's configuration no longer matches the project (run infractl up)"
		case s.Role == compose.RoleInit:
			res.Message, res.Status = InitState(ctr.State)
		default:
			res.Message, res.Status = BackendState(ctr.State)
			if ctr.State.Running && ctr.State.Health == engine.HealthStarting {
				// Docker has not run its next check yet (infractl up may
				// have seen readiness first): run the same test now.
				if ok, out, _ := env.Observer.ProbeContainer(ctx, ctr); ok {
					res.Message, res.Status = "running, healthy (its healthcheck passed when run now; Docker's next check is pending)", report.Pass
				} else if out != "" {
					res.Message += ": " + strings.TrimSpace(out)
				}
			}
		}
		if log, ran := env.Logs[n]; ran {
			sv.Log = env.Red.String(log)
			if res.Status == report.Fail {
				sv.LogTail = report.Tail(sv.Log, env.Opts.TailLines)
			}
		}
		res.Message = env.Red.String(res.Message)
		if res.Status == report.Fail {
			sv.Outcome = res.Message
		}
		if s.Role == compose.RoleInit || res.Status == report.Fail {
			c.Results = append(c.Results, res)
		}
		env.Services = append(env.Services, sv)
	}
	return c, nil
}

// laterRunner names a later hook of the same service whose runner is left
// (hooks run in order: the ones before it ran and succeeded).
func laterRunner(env *Env, h *compose.Hook) string {
	for j := h.Index + 1; j < len(env.Model.Project.Services[h.Service].PreStart); j++ {
		if _, ok := env.Current[compose.HookName(h.Service, j)]; ok {
			return compose.HookName(h.Service, j)
		}
	}
	return ""
}

// Stale reports whether a container no longer matches its service, by the
// port's one definition (engine.Unchanged): what up would recreate, verify
// calls stale.
func Stale(s *compose.Service, c engine.Container) bool {
	hashes, err := engine.ServiceHashes(s.Config)
	if err != nil {
		return false
	}
	return !engine.Unchanged(c.Labels, hashes)
}

// InitState judges an init's container.
func InitState(st engine.State) (string, report.Status) {
	switch {
	case st.NeverStarted():
		return "never ran (created, never started)", report.Fail
	case st.Running:
		return "still running", report.Fail
	case !st.Succeeded():
		return fmt.Sprintf("failed (exit %d)", st.ExitCode), report.Fail
	}
	return "exited 0", report.Pass
}

// BackendState judges a backend's or app's container.
func BackendState(st engine.State) (string, report.Status) {
	if !st.Running {
		if st.Succeeded() {
			return "exited 0", report.Pass
		}
		if st.NeverStarted() {
			return "created, never started", report.Fail
		}
		return fmt.Sprintf("not running (exit %d)", st.ExitCode), report.Fail
	}
	switch st.Health {
	case engine.HealthNone, engine.HealthHealthy:
		if st.Health == engine.HealthHealthy {
			return "running, healthy", report.Pass
		}
		return "running", report.Pass
	case engine.HealthUnhealthy:
		out := ""
		if st.HealthOutput != "" {
			out = ": " + strings.TrimSpace(st.HealthOutput)
		}
		return "unhealthy" + out, report.Fail
	}
	return "running, health " + st.Health, report.Fail
}
