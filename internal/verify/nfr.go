package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/report"
)

// nfrCheck is NFR-INIT-60S: each init that exited 0 did so within
// MaxInitSeconds of its targets being ready, from the engine's timestamps.
type nfrCheck struct{}

func (nfrCheck) ID() string { return report.ReqNFR60 }

func (nfrCheck) Run(_ context.Context, env *Env) (report.Check, error) {
	c := report.Check{ID: report.ReqNFR60, Title: fmt.Sprintf("every init finished within %.0f s of its targets being ready", env.Opts.MaxInitSeconds)}
	for _, s := range env.Model.Inits() {
		ctr, ok := env.Current[s.Name]
		if !ok || s.Hook != nil || !ctr.State.Succeeded() {
			continue
		}
		secs, approx := AfterReady(s, ctr.State, env.Current)
		r := report.CheckResult{Service: s.Name, Status: report.Pass, Message: fmt.Sprintf("%.1f s after its targets were ready%s", secs, approx)}
		if secs >= env.Opts.MaxInitSeconds {
			r.Status = report.Fail
		}
		c.Results = append(c.Results, r)
	}
	if len(c.Results) == 0 {
		c.Status, c.Reason = report.Skip, "no init has exited 0"
	}
	return c, nil
}

// AfterReady estimates the time from an init's targets being ready to its
// exit, from the engine's own timestamps.
func AfterReady(s *compose.Service, st engine.State, all map[string]engine.Container) (float64, string) {
	started, finished := st.StartedAt, st.FinishedAt
	ready := time.Time{}
	approx := ""
	for _, e := range s.Deps {
		t, ok := all[e.To]
		if !ok {
			continue
		}
		var at time.Time
		switch e.Condition {
		case compose.ConditionCompleted:
			at = t.State.FinishedAt
		case compose.ConditionHealthy:
			for _, l := range t.State.HealthLog {
				if l.ExitCode == 0 && !l.End.After(started) && (at.IsZero() || l.End.Before(at)) {
					at = l.End
				}
			}
			if at.IsZero() {
				// The health log rotated past the init's start: the init's
				// own start is the closest evidence.
				at, approx = started, " (approximate: the health log no longer reaches back)"
			}
		default:
			at = t.State.StartedAt
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
