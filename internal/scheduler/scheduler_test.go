package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/infractl/infractl/internal/scheduler"
)

// behavior scripts a fake container: what happens after it starts, in
// fake-clock time.
type behavior struct {
	exitAfter    time.Duration // exits then (0: runs forever)
	exitCode     int
	healthyAfter time.Duration // engine reports healthy then (0: never)
	health       bool          // has a healthcheck
	unhealthy    time.Duration // engine reports unhealthy then
	probeOKAfter time.Duration // a probe passes from then on (0: never)
	healthOutput string
}

// fakeRuntime is the in-memory engine: containers follow their behavior on
// the fake clock and emit the events the real engine would.
type fakeRuntime struct {
	clock     *clockwork.FakeClock
	behaviors map[string]behavior
	dropAll   bool // the event stream loses every event (safety net test)

	mu      sync.Mutex
	events  chan scheduler.Event
	state   map[string]*scheduler.State
	started map[string]time.Time
	order   []string
	stopped []string
	running int
	maxRun  map[bool]int // by init-ness: the most containers running at once
}

func newFake(clock *clockwork.FakeClock, b map[string]behavior) *fakeRuntime {
	return &fakeRuntime{
		clock: clock, behaviors: b,
		events:  make(chan scheduler.Event, 1024),
		state:   map[string]*scheduler.State{},
		started: map[string]time.Time{},
		maxRun:  map[bool]int{},
	}
}

func (f *fakeRuntime) Events(ctx context.Context) (<-chan scheduler.Event, <-chan error) {
	return f.events, make(chan error)
}

func (f *fakeRuntime) Prepare(_ context.Context, node string) (scheduler.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[node] = &scheduler.State{}
	return scheduler.Container{ID: "id-" + node, Healthcheck: f.behaviors[node].health}, nil
}

func (f *fakeRuntime) emit(ev scheduler.Event) {
	if !f.dropAll {
		f.events <- ev
	}
}

func (f *fakeRuntime) Start(_ context.Context, id string) error {
	node := strings.TrimPrefix(id, "id-")
	b := f.behaviors[node]
	f.mu.Lock()
	now := f.clock.Now()
	st := f.state[node]
	st.Running, st.StartedAt = true, now
	if b.health {
		st.Health = "starting"
		st.HealthOutput = b.healthOutput
	}
	f.started[node] = now
	f.order = append(f.order, node)
	f.running++
	init := b.exitAfter > 0
	count := 0
	for n, s := range f.state {
		if s.Running && (f.behaviors[n].exitAfter > 0) == init {
			count++
		}
	}
	f.maxRun[init] = max(f.maxRun[init], count)
	f.mu.Unlock()
	f.emit(scheduler.Event{ContainerID: id, Action: "start", Time: now})
	if b.exitAfter > 0 {
		f.clock.AfterFunc(b.exitAfter, func() {
			f.mu.Lock()
			if !st.Running {
				f.mu.Unlock()
				return
			}
			st.Running, st.Exited, st.ExitCode, st.FinishedAt = false, true, b.exitCode, f.clock.Now()
			f.mu.Unlock()
			f.emit(scheduler.Event{ContainerID: id, Action: "die", ExitCode: b.exitCode, Time: f.clock.Now()})
		})
	}
	if b.healthyAfter > 0 {
		f.clock.AfterFunc(b.healthyAfter, func() {
			f.mu.Lock()
			st.Health = "healthy"
			f.mu.Unlock()
			f.emit(scheduler.Event{ContainerID: id, Action: "health_status", Health: "healthy", Time: f.clock.Now()})
		})
	}
	if b.unhealthy > 0 {
		f.clock.AfterFunc(b.unhealthy, func() {
			f.mu.Lock()
			st.Health = "unhealthy"
			f.mu.Unlock()
			f.emit(scheduler.Event{ContainerID: id, Action: "health_status", Health: "unhealthy", Time: f.clock.Now()})
		})
	}
	return nil
}

func (f *fakeRuntime) Inspect(_ context.Context, id string) (scheduler.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.state[strings.TrimPrefix(id, "id-")], nil
}

func (f *fakeRuntime) Probe(_ context.Context, node, _ string) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.behaviors[node]
	ok := b.probeOKAfter > 0 && f.clock.Now().Sub(f.started[node]) >= b.probeOKAfter
	return ok, b.healthOutput, nil
}

func (f *fakeRuntime) Stop(_ context.Context, id string) error {
	node := strings.TrimPrefix(id, "id-")
	f.mu.Lock()
	st := f.state[node]
	wasRunning := st.Running
	st.Running, st.Exited, st.ExitCode, st.FinishedAt = false, true, 137, f.clock.Now()
	f.stopped = append(f.stopped, node)
	f.mu.Unlock()
	if wasRunning {
		f.emit(scheduler.Event{ContainerID: id, Action: "die", ExitCode: 137, Time: f.clock.Now()})
	}
	return nil
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run drives the scheduler on the fake clock in 50 ms steps until it
// returns (at most 20 minutes of fake time).
func run(t *testing.T, ctx context.Context, f *fakeRuntime, opts scheduler.Options, nodes []scheduler.Node, onStep func(now time.Duration)) (map[string]scheduler.Result, error) {
	t.Helper()
	s := scheduler.New(f, f.clock, opts)
	type out struct {
		res []scheduler.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		r, err := s.Run(ctx, nodes)
		done <- out{r, err}
	}()
	for step := 0; step < 24000; step++ {
		select {
		case o := <-done:
			m := map[string]scheduler.Result{}
			for _, r := range o.res {
				m[r.Name] = r
			}
			return m, o.err
		case <-time.After(200 * time.Microsecond):
		}
		f.clock.Advance(50 * time.Millisecond)
		if onStep != nil {
			onStep(f.clock.Since(t0))
		}
	}
	t.Fatal("scheduler did not finish within 20 minutes of fake time")
	return nil, nil
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
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"db":    {health: true, healthyAfter: 2 * time.Second},
		"init1": {exitAfter: time.Second},
		"init2": {exitAfter: time.Second},
		"app":   {},
	})
	nodes := []scheduler.Node{
		{Name: "db"},
		{Name: "init1", Init: true, Deps: []scheduler.Dep{healthy("db")}},
		{Name: "init2", Init: true, Deps: []scheduler.Dep{completed("init1"), healthy("db")}},
		{Name: "app", Deps: []scheduler.Dep{completed("init2")}},
	}
	res, err := run(t, t.Context(), f, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"db", "init1", "init2", "app"} {
		if res[n].Outcome != scheduler.OK {
			t.Errorf("%s: outcome %q (%s)", n, res[n].Outcome, res[n].Detail)
		}
	}
	if got := strings.Join(f.order, ","); got != "db,init1,init2,app" {
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
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"db":       {health: true, healthyAfter: time.Second},
		"bad-init": {exitAfter: time.Second, exitCode: 3},
		"after":    {exitAfter: time.Second},
		"app":      {},
		"ok-init":  {exitAfter: time.Second},
	})
	nodes := []scheduler.Node{
		{Name: "db"},
		{Name: "bad-init", Init: true, Deps: []scheduler.Dep{healthy("db")}},
		{Name: "after", Init: true, Deps: []scheduler.Dep{completed("bad-init")}},
		{Name: "app", Deps: []scheduler.Dep{completed("after")}},
		{Name: "ok-init", Init: true, Deps: []scheduler.Dep{healthy("db")}},
	}
	res, err := run(t, t.Context(), f, defaults(), nodes, nil)
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
	for _, n := range f.order {
		if n == "after" || n == "app" {
			t.Errorf("%s was started", n)
		}
	}
}

func TestBackendNeverHealthyTimesOutWithLastHealthOutput(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"db":   {health: true, healthOutput: "connection refused\n"},
		"init": {exitAfter: time.Second},
	})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	opts := defaults()
	opts.ReadyTimeout = 10 * time.Second
	res, err := run(t, t.Context(), f, opts, nodes, nil)
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
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"db":   {health: true, unhealthy: 3 * time.Second, healthOutput: "pg_isready: no response"},
		"init": {exitAfter: time.Second},
	})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	res, _ := run(t, t.Context(), f, defaults(), nodes, nil)
	if res["db"].Outcome != scheduler.Unhealthy || res["init"].BlockedBy != "db" {
		t.Errorf("db %q, init %q by %q", res["db"].Outcome, res["init"].Outcome, res["init"].BlockedBy)
	}
}

func TestProbeSeesReadinessBeforeTheHealthInterval(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		// Docker would say healthy only at the next 30 s interval; the
		// test itself passes after 2 s.
		"db":   {health: true, healthyAfter: 30 * time.Second, probeOKAfter: 2 * time.Second},
		"init": {exitAfter: time.Second},
	})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	opts := defaults()
	opts.ProbeInterval = 250 * time.Millisecond
	res, err := run(t, t.Context(), f, opts, nodes, nil)
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
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"seed": {exitAfter: time.Second, exitCode: 1},
		"app":  {},
	})
	nodes := []scheduler.Node{
		{Name: "seed", Init: true},
		{Name: "app", Deps: []scheduler.Dep{{Target: "seed", Condition: scheduler.Completed, Required: false}}},
	}
	res, _ := run(t, t.Context(), f, defaults(), nodes, nil)
	if res["app"].Outcome != scheduler.OK {
		t.Errorf("app = %q (%s)", res["app"].Outcome, res["app"].Detail)
	}
}

func TestParallelBoundsRunningInits(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	b := map[string]behavior{"db": {health: true, healthyAfter: time.Second}}
	nodes := []scheduler.Node{{Name: "db"}}
	for i := range 6 {
		n := fmt.Sprintf("init-%d", i)
		b[n] = behavior{exitAfter: time.Second}
		nodes = append(nodes, scheduler.Node{Name: n, Init: true, Deps: []scheduler.Dep{healthy("db")}})
	}
	f := newFake(clock, b)
	opts := defaults()
	opts.Parallel = 2
	res, err := run(t, t.Context(), f, opts, nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.maxRun[true] != 2 {
		t.Errorf("at most %d inits ran at once, want 2", f.maxRun[true])
	}
	for n, r := range res {
		if r.Outcome != scheduler.OK {
			t.Errorf("%s: %q", n, r.Outcome)
		}
	}
}

func TestInterruptStopsRunningInitsAndKeepsBackends(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"db":    {health: true, healthyAfter: time.Second},
		"slow":  {exitAfter: time.Hour},
		"after": {exitAfter: time.Second},
	})
	nodes := []scheduler.Node{
		{Name: "db"},
		{Name: "slow", Init: true, Deps: []scheduler.Dep{healthy("db")}},
		{Name: "after", Init: true, Deps: []scheduler.Dep{completed("slow")}},
	}
	ctx, cancel := context.WithCancel(t.Context())
	res, err := run(t, ctx, f, defaults(), nodes, func(now time.Duration) {
		if now >= 5*time.Second {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := strings.Join(f.stopped, ","); got != "slow" {
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
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"db":   {health: true, healthyAfter: time.Second},
		"init": {exitAfter: time.Second},
	})
	f.dropAll = true
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	res, err := run(t, t.Context(), f, defaults(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["init"].Outcome != scheduler.OK {
		t.Errorf("init = %q", res["init"].Outcome)
	}
}

func TestInitTimeout(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{"hang": {exitAfter: time.Hour}})
	opts := defaults()
	opts.InitTimeout = 3 * time.Second
	res, err := run(t, t.Context(), f, opts, []scheduler.Node{{Name: "hang", Init: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res["hang"].Outcome != scheduler.TimedOut {
		t.Errorf("outcome %q", res["hang"].Outcome)
	}
	if len(f.stopped) != 1 {
		t.Errorf("the timed-out init was not stopped: %v", f.stopped)
	}
}

func TestNoHealthcheckButWaitedHealthy(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{"db": {}, "init": {exitAfter: time.Second}})
	nodes := []scheduler.Node{{Name: "db"}, {Name: "init", Init: true, Deps: []scheduler.Dep{healthy("db")}}}
	res, _ := run(t, t.Context(), f, defaults(), nodes, nil)
	if res["db"].Outcome != scheduler.Unhealthy || !strings.Contains(res["db"].Detail, "no healthcheck") {
		t.Errorf("db = %q %q", res["db"].Outcome, res["db"].Detail)
	}
	if res["init"].Outcome != scheduler.Blocked {
		t.Errorf("init = %q", res["init"].Outcome)
	}
}

func TestStartedCondition(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{"a": {}, "b": {}})
	nodes := []scheduler.Node{{Name: "a"}, {Name: "b", Deps: []scheduler.Dep{started("a")}}}
	res, _ := run(t, t.Context(), f, defaults(), nodes, nil)
	if res["b"].Outcome != scheduler.OK || strings.Join(f.order, ",") != "a,b" {
		t.Errorf("b = %q, order %v", res["b"].Outcome, f.order)
	}
}

func TestTraceNamesTheEventThatTriggeredEachStart(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	f := newFake(clock, map[string]behavior{
		"db":    {health: true, healthyAfter: time.Second},
		"init1": {exitAfter: time.Second},
		"init2": {exitAfter: time.Second},
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
	if _, err := run(t, t.Context(), f, opts, nodes, nil); err != nil {
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
