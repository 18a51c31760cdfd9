package verify_test

import (
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestAfterReadyMeasuresFromTheLastTargetReady(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	healthyAt := func(ends ...float64) engine.Container {
		st := engine.State{Running: true, StartedAt: t0, Health: engine.HealthHealthy}
		for _, e := range ends {
			st.HealthLog = append(st.HealthLog, engine.HealthRun{End: at(e)})
		}
		return engine.Container{Service: "db", State: st}
	}
	exited := func(start, end float64) engine.State {
		return engine.State{Exited: true, StartedAt: at(start), FinishedAt: at(end)}
	}
	tests := []struct {
		name       string
		svc        string
		targets    map[string]engine.Container
		st         engine.State
		want       float64
		wantApprox bool
	}{
		{"healthy: the first passing check before the init started", "init",
			map[string]engine.Container{"db": healthyAt(2, 32, 62)}, exited(3, 12), 10, false},
		{"healthy: the health log no longer reaches back", "init",
			map[string]engine.Container{"db": healthyAt(90)}, exited(3, 12), 9, true},
		{"completed: from the init it waits on exiting", "seed",
			map[string]engine.Container{"init": {Service: "init", State: exited(3, 12)}}, exited(13, 14.5), 2.5, false},
		{"no target found: from its own start", "seed",
			map[string]engine.Container{}, exited(13, 14.5), 1.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, approx := verify.AfterReady(m.Services[tt.svc], tt.st, tt.targets)
			if got != tt.want || (approx != "") != tt.wantApprox {
				t.Errorf("AfterReady = %v %q, want %v (approximate: %v)", got, approx, tt.want, tt.wantApprox)
			}
		})
	}
}

func TestNFRCheckJudgesEachInitAgainstTheBound(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	for _, tt := range []struct {
		finish float64
		status report.Status
		msg    string
	}{
		{62, report.Fail, "60.0 s after its targets were ready"},
		{61.9, report.Pass, "59.9 s after its targets were ready"},
	} {
		e := memengine.New(t0, nil)
		seed(t, e, m, "db", "init")
		e.SetState("p-db-1", engine.State{Running: true, StartedAt: t0, Health: engine.HealthHealthy, HealthLog: []engine.HealthRun{{End: at(2)}}})
		e.SetState("p-init-1", engine.State{Exited: true, StartedAt: at(2), FinishedAt: at(tt.finish)})
		c := check(t, e, m, verify.Options{MaxInitSeconds: 60}, report.ReqNFR60)
		if len(c.Results) != 1 || c.Results[0].Status != tt.status || c.Results[0].Message != tt.msg || c.Status != tt.status {
			t.Errorf("finished at %v s: %s %+v, want %s %q", tt.finish, c.Status, c.Results, tt.status, tt.msg)
		}
	}
}

func TestNFRCheckSkipsWhenNoInitSucceeded(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	e := memengine.New(t0, nil)
	seed(t, e, m, "db", "init")
	e.SetState("p-init-1", engine.State{Exited: true, ExitCode: 1, StartedAt: at(2), FinishedAt: at(3)})
	c := check(t, e, m, verify.Options{MaxInitSeconds: 60}, report.ReqNFR60)
	if c.Status != report.Skip || c.Reason != "no init has exited 0" {
		t.Errorf("%s %q, want skipped: no init has exited 0", c.Status, c.Reason)
	}
}
