package verify_test

import (
	"context"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

// twoInits: init1 waits on db healthy; init2 on db healthy and init1 done.
const twoInits = `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
    environment:
      DB_PASSWORD: s3cr3t-value
  init1:
    image: tool
    restart: "no"
    depends_on: {db: {condition: service_healthy}}
  init2:
    image: tool
    restart: "no"
    depends_on:
      db: {condition: service_healthy}
      init1: {condition: service_completed_successfully}
`

// runOnClock runs verify with the fake clock stepped by a second only
// while verify waits on it (a timer is pending), so every wait ends as the
// scenario says, never by the real clock.
func runOnClock(t *testing.T, e *memengine.Engine, fn func(clock *memengine.Clock)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		defer cancel()
		fn(e.Clock)
	}()
	for start := e.Clock.Now(); e.Clock.Since(start) < time.Hour; {
		if err := e.Clock.BlockUntilContext(ctx, 1); err != nil {
			return // verify finished
		}
		e.Step(time.Second)
	}
	t.Fatal("verify still running after an hour of fake time")
}

func TestBlockingCheck(t *testing.T) {
	m := memengine.LoadYAML(t, "p", twoInits)
	good := memengine.Behavior{WaitsFor: []string{"db"}, GiveUpAfter: 30 * time.Second, GiveUpCode: 1}
	tests := []struct {
		name  string
		init1 memengine.Behavior
		dbUp  bool
		want  report.Status
		msg   string
	}{
		{"waits, then succeeds, and fails fast", good, true, report.Pass,
			"blocked, then exited 0 once its targets came back; with them down it exited 1 after 30.0 s"},
		{"does not wait", memengine.Behavior{ExitAfter: time.Second}, true, report.Fail,
			"exited 0 after less than 10s with its targets down: it does not wait for them"},
		{"never fails fast", memengine.Behavior{WaitsFor: []string{"db"}}, true, report.Fail,
			"blocked, then succeeded; but with its targets down it was still waiting after 1m0s: it never fails fast"},
		{"fails even once its targets are back", memengine.Behavior{WaitsFor: []string{"nothing"}, GiveUpAfter: 15 * time.Second, GiveUpCode: 2}, true, report.Fail,
			"exited 2 after its targets came back"},
		{"target not running", good, false, report.Skip, `target "db" is not running`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := memengine.New(t0, map[string]memengine.Behavior{"init1": tt.init1, "init2": good})
			seed(t, e, m, "db", "init1", "init2")
			if !tt.dbUp {
				e.SetState("p-db-1", exitedState(0))
			}
			var v verifyResult
			runOnClock(t, e, func(clock *memengine.Clock) {
				v.run(t, e, m, verify.Options{MaxInitSeconds: 60, Blocking: true, Grace: 10 * time.Second, FailFastWithin: time.Minute, Clock: clock})
			})
			c := v.check(t, report.ReqBlocking)
			got := map[string]report.CheckResult{}
			for _, r := range c.Results {
				got[r.Service] = r
			}
			if r := got["init1"]; r.Status != tt.want || r.Message != tt.msg {
				t.Errorf("init1: %s %q, want %s %q", r.Status, r.Message, tt.want, tt.msg)
			}
			if tt.dbUp {
				if r := got["init2"]; r.Status != report.Pass {
					t.Errorf("init2: %s %q, want pass", r.Status, r.Message)
				}
				// The stack is restored as it was found; no one-off is left.
				if db, _ := e.Lookup("p-db-1"); !db.State.Running {
					t.Errorf("db left stopped: %+v", db.State)
				}
			}
			for _, n := range []string{"p-init1-verify-blocking", "p-init1-verify-failfast", "p-init2-verify-blocking", "p-init2-verify-failfast"} {
				if _, ok := e.Lookup(n); ok {
					t.Errorf("one-off %s left behind", n)
				}
			}
		})
	}
}

// A project whose inits are all pre_start hooks: --blocking tests nothing
// (a hook runs only before its service starts), so the check is skipped,
// saying why, never "pass" (#25 item 14).
func TestBlockingSaysSkippedForHooks(t *testing.T) {
	m := memengine.LoadYAML(t, "p", `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  app:
    image: app
    depends_on: {db: {condition: service_healthy}}
    pre_start:
      - command: ["migrate"]
`)
	e := memengine.New(t0, map[string]memengine.Behavior{})
	seed(t, e, m, "db", "app")
	var v verifyResult
	runOnClock(t, e, func(clock *memengine.Clock) {
		v.run(t, e, m, verify.Options{MaxInitSeconds: 60, Blocking: true, Grace: 10 * time.Second, FailFastWithin: time.Minute, Clock: clock})
	})
	c := v.check(t, report.ReqBlocking)
	if c.Status != report.Skip || c.Reason == "" || len(c.Results) != 1 || c.Results[0].Status != report.Skip {
		t.Fatalf("blocking check %s (%q) %+v, want skipped with a reason", c.Status, c.Reason, c.Results)
	}
	if db, _ := e.Lookup("p-db-1"); !db.State.Running {
		t.Error("db was stopped although nothing was tested")
	}
}
