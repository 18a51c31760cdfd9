package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/scheduler"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run drives the scheduler on the in-memory engine's clock: the clock
// moves to the next action or tick only when the scheduler is idle and has
// taken every event and tick delivered, so each run is the same run.
func run(t *testing.T, ctx context.Context, e *memengine.Engine, opts scheduler.Options, nodes []scheduler.Node, onStep func(now time.Duration)) (map[string]scheduler.Result, error) {
	t.Helper()
	var res []scheduler.Result
	var err error
	step := opts.TickEvery()
	finished := e.Drive(step, 20*time.Minute, func(idle func(int)) {
		opts.Idle = func(n int) {
			if onStep != nil {
				onStep(e.Clock.Since(t0))
			}
			idle(n)
		}
		res, err = scheduler.New(e.BareProject("p"), e.Clock, opts).Run(ctx, nodes)
	})
	if !finished {
		t.Fatal("scheduler did not finish within 20 minutes of fake time")
	}
	m := map[string]scheduler.Result{}
	for _, r := range res {
		m[r.Name] = r
	}
	return m, err
}

func healthy(name string) scheduler.Dep {
	return scheduler.Dep{Target: name, Condition: scheduler.Healthy, Required: true}
}
func completed(name string) scheduler.Dep {
	return scheduler.Dep{Target: name, Condition: scheduler.Completed, Required: true}
}
func started(name string) scheduler.Dep {
	return scheduler.Dep{Target: name, Condition: scheduler.Started, Required: true}
}

func defaults() scheduler.Options {
	return scheduler.Options{InitTimeout: 5 * time.Minute, ReadyTimeout: time.Minute, SafetyInterval: 2 * time.Second}
}

func TestChainRunsInOrderAndDispatchesOnTheEvent(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":    {Healthcheck: true, HealthyAfter: 2 * time.Second},
		"init1": {ExitAfter: time.Second},
		"init2": {ExitAfter: time.Second},
		"app":   {},
	})
	nodes := []scheduler.Node{
		{Name: "db"},
		{Name: "init1", Init: true, Deps: []scheduler.Dep{healthy("db")}},
		{Name: "init2", Init: true, Deps: []scheduler.Dep{completed("init1"), healthy("db")}},
		{Name: "app", Deps: []scheduler.Dep{completed("init2")}},
	}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"db", "init1", "init2", "app"} {
		if res[n].Outcome != scheduler.OK {
			t.Errorf("%s: outcome %q (%s)", n, res[n].Outcome, res[n].Detail)
		}
	}
	if got := strings.Join(e.Order(), ","); got != "db,init1,init2,app" {
		t.Errorf("start order = %s", got)
	}
	// Each dependent starts in the same fake-clock step as the event that
	// satisfied it: no polling delay.
	if d := res["init1"].Started.Sub(res["db"].Ready); d < 0 || d > 50*time.Millisecond {
		t.Errorf("init1 started %v after db was healthy", d)
	}
	if d := res["init2"].Started.Sub(res["init1"].Exited); d < 0 || d > 50*time.Millisecond {
		t.Errorf("init2 started %v after init1 exited", d)
	}
	if res["db"].ReadyBy != "healthcheck" {
		t.Errorf("db ready by %q", res["db"].ReadyBy)
	}
	if res["init1"].ExitCode != 0 {
		t.Errorf("init1 exit code %d", res["init1"].ExitCode)
	}
}

func TestFailedInitBlocksDependentsOnly(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":       {Healthcheck: true, HealthyAfter: time.Second},
		"bad-init": {ExitAfter: time.Second, ExitCode: 3},
		"after":    {ExitAfter: time.Second},
		"app":      {},
		"ok-init":  {ExitAfter: time.Second},
	})
	nodes := []scheduler.Node{
		{Name: "db"},
		{Name: "bad-init", Init: true, Deps: []scheduler.Dep{healthy("db")}},
		{Name: "after", Init: true, Deps: []scheduler.Dep{completed("bad-init")}},
		{Name: "app", Deps: []scheduler.Dep{completed("after")}},
		{Name: "ok-init", Init: true, Deps: []scheduler.Dep{healthy("db")}},
	}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		outcome   scheduler.Outcome
		blockedBy string
	}{
		{"bad-init", scheduler.Failed, ""},
		{"after", scheduler.Blocked, "bad-init"},
		{"app", scheduler.Blocked, "after"},
		{"ok-init", scheduler.OK, ""},
		{"db", scheduler.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := res[tt.name]
			if r.Outcome != tt.outcome || r.BlockedBy != tt.blockedBy {
				t.Errorf("outcome %q blocked by %q, want %q by %q", r.Outcome, r.BlockedBy, tt.outcome, tt.blockedBy)
			}
		})
	}
	if res["bad-init"].ExitCode != 3 {
		t.Errorf("exit code %d, want 3", res["bad-init"].ExitCode)
	}
	for _, n := range e.Order() {
		if n == "after" || n == "app" {
			t.Errorf("%s was started", n)
		}
	}
}

func TestBackendNeverHealthyTimesOutWithLastHealthOutput(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":   {Healthcheck: true, HealthOutput: "connection refused\n"},
		"init": {ExitAfter: time.Second},
	})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	opts := defaults()
	opts.ReadyTimeout = 10 * time.Second
	res, err := run(t, t.Context(), e, opts, nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res["db"]; r.Outcome != scheduler.TimedOut || !strings.Contains(r.Detail, "connection refused") {
		t.Errorf("db = %q %q", r.Outcome, r.Detail)
	}
	if r := res["init"]; r.Outcome != scheduler.Blocked || r.BlockedBy != "db" || !strings.Contains(r.Detail, "connection refused") {
		t.Errorf("init = %q by %q: %q", r.Outcome, r.BlockedBy, r.Detail)
	}
	if got := res["db"].Started.Add(10 * time.Second); res["init"].Prepared.After(got) {
		t.Errorf("init prepared after the timeout")
	}
}

func TestUnhealthyBackendBlocks(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":   {Healthcheck: true, UnhealthyAfter: 3 * time.Second, HealthOutput: "pg_isready: no response"},
		"init": {ExitAfter: time.Second},
	})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["db"].Outcome != scheduler.Unhealthy || res["init"].BlockedBy != "db" {
		t.Errorf("db %q, init %q by %q", res["db"].Outcome, res["init"].Outcome, res["init"].BlockedBy)
	}
}

func TestProbeSeesReadinessBeforeTheHealthInterval(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		// Docker would say healthy only at the next 30 s interval; the
		// test itself passes after 2 s.
		"db":   {Healthcheck: true, HealthyAfter: 30 * time.Second, ProbeOKAfter: 2 * time.Second},
		"init": {ExitAfter: time.Second},
	})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	opts := defaults()
	opts.ProbeInterval = 250 * time.Millisecond
	res, err := run(t, t.Context(), e, opts, nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["db"].ReadyBy != "probe" {
		t.Errorf("ready by %q", res["db"].ReadyBy)
	}
	if d := res["init"].Started.Sub(res["db"].Started); d < 2*time.Second || d > 2500*time.Millisecond {
		t.Errorf("init started %v after db, want about 2 s", d)
	}
}

func TestOptionalDependencyFailureDoesNotBlock(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"seed": {ExitAfter: time.Second, ExitCode: 1},
		"app":  {},
	})
	nodes := []scheduler.Node{
		{Name: "seed", Init: true},
		{Name: "app", Deps: []scheduler.Dep{{Target: "seed", Condition: scheduler.Completed, Required: false}}},
	}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["app"].Outcome != scheduler.OK {
		t.Errorf("app = %q (%s)", res["app"].Outcome, res["app"].Detail)
	}
}

func TestParallelBoundsRunningInits(t *testing.T) {
	b := map[string]memengine.Behavior{"db": {Healthcheck: true, HealthyAfter: time.Second}}
	nodes := []scheduler.Node{{Name: "db"}}
	for i := range 6 {
		n := fmt.Sprintf("init-%d", i)
		b[n] = memengine.Behavior{ExitAfter: time.Second}
		nodes = append(nodes, scheduler.Node{Name: n, Init: true, Deps: []scheduler.Dep{healthy("db")}})
	}
	e := memengine.New(t0, b)
	opts := defaults()
	opts.Parallel = 2
	res, err := run(t, t.Context(), e, opts, nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.MaxRunning(true) != 2 {
		t.Errorf("at most %d inits ran at once, want 2", e.MaxRunning(true))
	}
	for n, r := range res {
		if r.Outcome != scheduler.OK {
			t.Errorf("%s: %q", n, r.Outcome)
		}
	}
}

func TestInterruptStopsRunningInitsAndKeepsBackends(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":    {Healthcheck: true, HealthyAfter: time.Second},
		"slow":  {ExitAfter: time.Hour},
		"after": {ExitAfter: time.Second},
	})
	nodes := []scheduler.Node{
		{Name: "db"},
		{Name: "slow", Init: true, Deps: []scheduler.Dep{healthy("db")}},
		{Name: "after", Init: true, Deps: []scheduler.Dep{completed("slow")}},
	}
	ctx, cancel := context.WithCancel(t.Context())
	res, err := run(t, ctx, e, defaults(), nodes, func(now time.Duration) {
		if now >= 5*time.Second {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := strings.Join(e.Stopped(), ","); got != "slow" {
		t.Errorf("stopped = %q, want only the running init", got)
	}
	if res["slow"].Outcome != scheduler.Interrupted || res["after"].Outcome != scheduler.Interrupted {
		t.Errorf("slow %q, after %q", res["slow"].Outcome, res["after"].Outcome)
	}
	if res["db"].Outcome != scheduler.OK {
		t.Errorf("db %q: a healthy backend stays ok", res["db"].Outcome)
	}
}

func TestSafetyNetInspectFinishesWithoutEvents(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":   {Healthcheck: true, HealthyAfter: time.Second},
		"init": {ExitAfter: time.Second},
	})
	e.DropEvents = true
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["init"].Outcome != scheduler.OK {
		t.Errorf("init = %q", res["init"].Outcome)
	}
}

func TestInitTimeout(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{"hang": {ExitAfter: time.Hour}})
	opts := defaults()
	opts.InitTimeout = 3 * time.Second
	res, err := run(t, t.Context(), e, opts, []scheduler.Node{{Name: "hang", Init: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["hang"].Outcome != scheduler.TimedOut {
		t.Errorf("outcome %q", res["hang"].Outcome)
	}
	if len(e.Stopped()) != 1 {
		t.Errorf("the timed-out init was not stopped: %v", e.Stopped())
	}
}

func TestNoHealthcheckButWaitedHealthy(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{"db": {}, "init": {ExitAfter: time.Second}})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["db"].Outcome != scheduler.Unhealthy || !strings.Contains(res["db"].Detail, "no healthcheck") {
		t.Errorf("db = %q %q", res["db"].Outcome, res["db"].Detail)
	}
	if res["init"].Outcome != scheduler.Blocked {
		t.Errorf("init = %q", res["init"].Outcome)
	}
}

func TestStartedCondition(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{"a": {}, "b": {}})
	nodes := []scheduler.Node{{Name: "a"}, {Name: "b", Deps: []scheduler.Dep{started("a")}}}
	res, err := run(t, t.Context(), e, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["b"].Outcome != scheduler.OK || strings.Join(e.Order(), ",") != "a,b" {
		t.Errorf("b = %q, order %v", res["b"].Outcome, e.Order())
	}
}

func TestTraceNamesTheEventThatTriggeredEachStart(t *testing.T) {
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":    {Healthcheck: true, HealthyAfter: time.Second},
		"init1": {ExitAfter: time.Second},
		"init2": {ExitAfter: time.Second},
	})
	nodes := []scheduler.Node{
		{Name: "db"},
		{Name: "init1", Init: true, Deps: []scheduler.Dep{healthy("db")}},
		{Name: "init2", Init: true, Deps: []scheduler.Dep{completed("init1")}},
	}
	var mu sync.Mutex
	got := map[string]scheduler.Dispatch{}
	opts := defaults()
	opts.Trace = func(d scheduler.Dispatch) {
		mu.Lock()
		defer mu.Unlock()
		got[d.Node] = d
	}
	if _, err := run(t, t.Context(), e, opts, nodes, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("traced %d starts, want 3: %v", len(got), got)
	}
	for node, want := range map[string]string{"init1": "db health_status: healthy", "init2": "init1 die"} {
		d := got[node]
		if trig := d.Trigger.Node + " " + d.Trigger.Action; trig != want {
			t.Errorf("%s was triggered by %q, want %q", node, trig, want)
		}
		if d.Trigger.EngineTime.IsZero() || d.Trigger.Received.Before(d.Trigger.EngineTime) || d.Called.Before(d.Trigger.Received) || d.Returned.Before(d.Called) {
			t.Errorf("%s: times out of order: %+v", node, d)
		}
	}
	if d := got["db"]; d.Trigger.Action != "prepared" {
		t.Errorf("db was triggered by %q, want its own prepare", d.Trigger.Action)
	}
}
