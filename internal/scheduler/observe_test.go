package scheduler_test

import (
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/scheduler"
)

// An on-failure init that fails twice and then succeeds is one success
// after two retries the engine made; its dependents start after it.
func TestOnFailureInitRetriesUntilItExitsZero(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"migrate": {Restart: "on-failure", ExitAfter: time.Second, ExitCode: 1, SucceedOnRun: 3},
		"app":     {},
	})
	nodes := []scheduler.Node{
		{Name: "migrate", Init: true, Restart: "on-failure"},
		{Name: "app", Deps: []scheduler.Dep{completed("migrate")}},
	}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := res["migrate"]
	if m.Outcome != scheduler.OK || m.ExitCode != 0 || m.Retries != 2 {
		t.Errorf("migrate: %s exit %d, %d retries (%s); want ok exit 0 after 2 retries", m.Outcome, m.ExitCode, m.Retries, m.Detail)
	}
	if a := res["app"]; a.Outcome != scheduler.OK || a.Started.Before(m.Exited) {
		t.Errorf("app: %s started %v, migrate exited %v", a.Outcome, a.Started, m.Exited)
	}
	if got := e.Order(); len(got) != 2 || got[0] != "migrate" || got[1] != "app" {
		t.Errorf("API starts %v: the engine's restarts are not infractl's", got)
	}
}

// on-failure:N: after N retries the engine stops restarting, and the last
// non-zero exit is the failure; dependents are blocked by it.
func TestOnFailureInitRunsOutOfRetries(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"migrate": {Restart: "on-failure:2", ExitAfter: time.Second, ExitCode: 3},
		"app":     {},
	})
	nodes := []scheduler.Node{
		{Name: "migrate", Init: true, Restart: "on-failure", MaxRetries: 2},
		{Name: "app", Deps: []scheduler.Dep{completed("migrate")}},
	}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := res["migrate"]; m.Outcome != scheduler.Failed || m.ExitCode != 3 || m.Retries != 2 {
		t.Errorf("migrate: %s exit %d, %d retries; want failed exit 3 after 2 retries", m.Outcome, m.ExitCode, m.Retries)
	}
	if a := res["app"]; a.Outcome != scheduler.Blocked || a.BlockedBy != "migrate" {
		t.Errorf("app: %s by %q, want blocked by migrate", a.Outcome, a.BlockedBy)
	}
}

// A service not declared an init whose policy lets it stay exited, and
// that exits during the run, is judged as a one-shot: exit 0 is success, a
// non-zero exit a failure. One that a restart policy brings back (always)
// is not.
func TestServicesThatExitAreJudgedAsOneShots(t *testing.T) {
	tests := []struct {
		name    string
		restart string
		code    int
		want    scheduler.Outcome
		obs     bool
		exit    int // as reported; -1: not an exit
	}{
		{"restart unset, exit 0", "", 0, scheduler.OK, true, 0},
		{"restart no, exit 2", "no", 2, scheduler.Failed, true, 2},
		{"on-failure, exit 0", "on-failure", 0, scheduler.OK, true, 0},
		// The engine brings it back: a backend that was ready.
		{"always, exit 0", "always", 0, scheduler.OK, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := memengine.New(t0, map[string]memengine.Behavior{
				// seed has no healthcheck: ready when it starts, then
				// exits 5 s later while db is still starting.
				"seed": {Restart: tt.restart, ExitAfter: 5 * time.Second, ExitCode: tt.code},
				"db":   {Healthcheck: true, HealthyAfter: 20 * time.Second},
				"init": {ExitAfter: time.Second},
			})
			nodes := []scheduler.Node{
				{Name: "seed", Restart: tt.restart},
				{Name: "db", Restart: "always"},
				{Name: "init", Init: true, Restart: "no", Deps: []scheduler.Dep{healthy("db")}},
			}
			res, err := run(t, t.Context(), e, defaults(), nodes, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := res["seed"]
			if s.Outcome != tt.want || s.Observed != tt.obs || s.ExitCode != tt.exit {
				t.Errorf("seed: %s observed=%v exit %d; want %s observed=%v exit %d", s.Outcome, s.Observed, s.ExitCode, tt.want, tt.obs, tt.exit)
			}
			if d := res["db"]; d.Observed || d.Outcome != scheduler.OK {
				t.Errorf("db: %s observed=%v", d.Outcome, d.Observed)
			}
		})
	}
}

// A service that is still running when the run ends stays what it was:
// started, not a one-shot.
func TestAServiceStillRunningAtTheEndIsNotJudgedAOneShot(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"worker": {ExitAfter: time.Hour},
		"init":   {ExitAfter: time.Second},
	})
	nodes := []scheduler.Node{{Name: "worker"}, {Name: "init", Init: true}}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := res["worker"]; w.Outcome != scheduler.OK || w.Observed || !w.Exited.IsZero() {
		t.Errorf("worker: %s observed=%v exited %v", w.Outcome, w.Observed, w.Exited)
	}
}

// A retry the engine does not make after all (the container was stopped
// while it waited to restart) ends the wait at the next inspect.
func TestARestartThatNeverComesEndsAtTheNextInspect(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"migrate": {Restart: "on-failure", ExitAfter: time.Second, ExitCode: 1},
	})
	nodes := []scheduler.Node{{Name: "migrate", Init: true, Restart: "on-failure"}}
	stopped := false
	res, err := run(t, t.Context(), e, defaults(), nodes, func(now time.Duration) {
		// Right after the first exit, before the engine's restart.
		if c, ok := e.Lookup("p-migrate-1"); ok && !stopped && c.State.Restarting {
			stopped = true
			if err := e.BareProject("p").Stop(t.Context(), c.ID); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !stopped {
		t.Fatal("the init was never seen restarting")
	}
	if m := res["migrate"]; m.Outcome != scheduler.Failed || m.ExitCode != 137 {
		t.Errorf("migrate: %s exit %d (%s); want failed exit 137", m.Outcome, m.ExitCode, m.Detail)
	}
}
