package verify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

func TestInitStateRules(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	hash := func(svc string) string {
		h, err := engine.ServiceHashes(m.Project.Services[svc])
		if err != nil {
			t.Fatal(err)
		}
		return h[0]
	}
	type ctr struct {
		svc   string
		hash  string // "" : the service's own
		state engine.State
		logs  string
	}
	started := engine.State{StartedAt: t0}
	exited := func(code int) engine.State {
		s := started
		s.Exited, s.ExitCode, s.FinishedAt = true, code, t0.Add(time.Second)
		return s
	}
	healthy := engine.State{Running: true, StartedAt: t0, Health: engine.HealthHealthy}
	tests := []struct {
		name   string
		ctrs   []ctr
		want   map[string]string // service -> VAL-AUTO-002 message
		status report.Status     // of VAL-AUTO-002
	}{
		{"all good", []ctr{{"db", "", healthy, ""}, {"init", "", exited(0), ""}, {"seed", "", exited(0), ""}},
			map[string]string{"init": "exited 0"}, report.Pass},
		{"never ran", []ctr{{"db", "", healthy, ""}, {"init", "", exited(0), ""}},
			map[string]string{"seed": "never ran (no container)"}, report.Fail},
		{"failed", []ctr{{"db", "", healthy, ""}, {"init", "", exited(3), ""}, {"seed", "", exited(0), ""}},
			map[string]string{"init": "failed (exit 3)"}, report.Fail},
		{"still running", []ctr{{"db", "", healthy, ""}, {"init", "", engine.State{Running: true, StartedAt: t0}, ""}, {"seed", "", exited(0), ""}},
			map[string]string{"init": "still running"}, report.Fail},
		{"created, never started", []ctr{{"db", "", healthy, ""}, {"init", "", engine.State{}, ""}, {"seed", "", exited(0), ""}},
			map[string]string{"init": "never ran (created, never started)"}, report.Fail},
		{"stale: written for another configuration", []ctr{{"db", "", healthy, ""}, {"init", "other-hash", exited(0), ""}, {"seed", "", exited(0), ""}},
			map[string]string{"init": "stale: its container's configuration no longer matches the project (run infractl up)"}, report.Fail},
		{"backend unhealthy, its output redacted", []ctr{{"db", "", engine.State{Running: true, StartedAt: t0, Health: engine.HealthUnhealthy, HealthOutput: "auth failed for s3cr3t-value"}, ""}, {"init", "", exited(0), ""}, {"seed", "", exited(0), ""}},
			map[string]string{"db": "unhealthy: auth failed for ***"}, report.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := memengine.New(t0, nil)
			for _, c := range tt.ctrs {
				h := c.hash
				if h == "" {
					h = hash(c.svc)
				}
				name := "p-" + c.svc + "-1"
				e.Run(name, c.svc, map[string]string{engine.LabelProject: "p", engine.LabelService: c.svc, engine.LabelConfigHash: h}, false, 0)
				e.SetState(name, c.state)
			}
			v, err := verify.Run(t.Context(), e, m, verify.Options{MaxInitSeconds: 60})
			if err != nil {
				t.Fatal(err)
			}
			var check report.Check
			for _, c := range v.Checks {
				if c.ID == report.ReqInitExit {
					check = c
				}
			}
			if check.Status != tt.status {
				t.Errorf("VAL-AUTO-002 %s, want %s: %+v", check.Status, tt.status, check.Results)
			}
			got := map[string]string{}
			for _, r := range check.Results {
				got[r.Service] = r.Message
			}
			for svc, want := range tt.want {
				if got[svc] != want {
					t.Errorf("%s: %q, want %q", svc, got[svc], want)
				}
			}
			var out strings.Builder
			if err := report.WriteJUnit(&out, v); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteVerdictText(&out, v, report.PlainStyles()); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "s3cr3t-value") {
				t.Errorf("a secret value is printed:\n%s", out.String())
			}
		})
	}
}
