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
		if s.Hook != nil {
			continue
		}
		ctr, ok := env.Current[n]
		sv := report.ServiceVerdict{Name: n, Role: string(s.Role), Outcome: "ok"}
		if ok {
			sv.Container = ctr.Name
		}
		res := report.CheckResult{Service: n, Status: report.Pass}
		switch {
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
