// Package memengine is an in-memory implementation of the engine port for
// unit tests: containers follow scripted behaviours on a fake clock and
// emit the events a real engine would. The scheduler's, up's and verify's
// tests share it; nothing here talks to a daemon.
//
// Time moves only when a test calls Step: the clock advances to each
// scripted action in turn, runs it (state change and event together, under
// one lock, so an inspect never sees a change before its event is sent),
// then fires the tickers. With the scheduler's Idle hook a test steps only
// when the scheduler has taken everything delivered (Delivered), so every
// run of a test is the same run.
package memengine

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jonboulle/clockwork"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// Behavior scripts a service's containers: what happens after one starts,
// in fake-clock time.
type Behavior struct {
	ExitAfter      time.Duration // exits then (0: runs until stopped)
	ExitCode       int
	Healthcheck    bool          // has a healthcheck
	HealthyAfter   time.Duration // the engine reports healthy then (0: never)
	UnhealthyAfter time.Duration // the engine reports unhealthy then
	ProbeOKAfter   time.Duration // a probe passes from then on (0: never)
	HealthOutput   string
	// Logs is what the container prints (stdout and stderr merged).
	Logs string
	// StartError fails ContainerStart.
	StartError error
	// WaitsFor makes a well-behaved init: it exits 0 as soon as every
	// service named has a ready container (at its start or when they
	// come), or GiveUpCode after GiveUpAfter (0: never) if they do not.
	WaitsFor    []string
	GiveUpAfter time.Duration
	GiveUpCode  int
	// Restart is the container's restart policy ("on-failure[:N]"; ""
	// takes the compose file's, else "no"). Under on-failure the engine
	// starts a container that exited non-zero again after a back-off
	// (100 ms, doubling), as Docker's restart manager does: its state
	// stays running (restarting) and it emits die, then start.
	Restart string
	// SucceedOnRun makes the runs from that one on (1 is the first start)
	// exit 0 instead of ExitCode (0: every run exits ExitCode).
	SucceedOnRun int
}

type ctr struct {
	engine.Container
	started  time.Time
	gen      int // bumped on every start and stop: stale actions are skipped
	restart  compose.RestartPolicy
	runs     int // starts, the engine's restarts included
	restarts int // restarts made by the restart policy
}

type action struct {
	at  time.Time
	seq int
	fn  func()
}

// Engine is the in-memory engine. It implements engine.Engine, and its
// projects implement engine.Project.
type Engine struct {
	Clock *Clock

	mu        sync.Mutex
	behaviors map[string]Behavior
	byID      map[string]*ctr
	byName    map[string]string
	networks  map[string]map[string]string // name -> labels
	volumes   map[string]map[string]string
	subs      []*subscriber
	actions   []action
	seq       int
	nextID    int
	delivered int
	// DropEvents loses every event (the safety-net test).
	DropEvents bool
	// Built records the services Build built.
	Built map[string]bool
	// Refuse is what Check returns.
	Refuse error
	// LogsError, when set, is what every Logs call returns (an engine
	// that stops answering once the run is over).
	LogsError error
	// Down makes every call fail as an unreachable engine would.
	down bool

	// Recorded for assertions.
	order   []string // services in start order
	stopped []string
	maxRun  map[bool]int // most containers running at once, by "exits by itself"
}

// New returns an engine whose fake clock starts at t0.
func New(t0 time.Time, behaviors map[string]Behavior) *Engine {
	e := &Engine{
		behaviors: behaviors,
		byID:      map[string]*ctr{},
		byName:    map[string]string{},
		networks:  map[string]map[string]string{},
		volumes:   map[string]map[string]string{},
		maxRun:    map[bool]int{},
	}
	e.Clock = &Clock{FakeClock: clockwork.NewFakeClockAt(t0), e: e}
	return e
}

// SetDown makes the engine unreachable (true) or reachable again; going
// down breaks every event stream.
func (e *Engine) SetDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
	if down {
		for _, sub := range e.subs {
			sub.errs <- fmt.Errorf("event stream: connection reset: %w", engine.ErrEngine)
		}
		e.subs = nil
	}
}

func (e *Engine) errDown() error {
	if e.down {
		return fmt.Errorf("cannot connect to the engine: connection refused: %w", engine.ErrEngine)
	}
	return nil
}

// Order is the services in the order their containers started.
func (e *Engine) Order() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.order)
}

// Stopped is the services whose containers were stopped, in order.
func (e *Engine) Stopped() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.stopped)
}

// MaxRunning is the most containers that ran at once among those that exit
// by themselves (true) or not (false).
func (e *Engine) MaxRunning(exits bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.maxRun[exits]
}

// Delivered is how many events and ticks the engine and its clock have
// delivered so far (compare with the scheduler's Idle count).
func (e *Engine) Delivered() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.delivered
}

// Step advances the clock to the first of: the next scripted action, the
// next tick, or d from now; it runs the actions due then (in the order they
// were scheduled) and fires the tickers due. A test waits for the
// scheduler to take what was delivered before it steps again.
func (e *Engine) Step(d time.Duration) {
	now := e.Clock.Now()
	target := now.Add(d)
	e.mu.Lock()
	if len(e.actions) > 0 && e.actions[0].at.Before(target) {
		target = e.actions[0].at
	}
	e.mu.Unlock()
	if t, ok := e.Clock.nextTick(); ok && t.Before(target) {
		target = t
	}
	if target.After(now) {
		e.Clock.FakeClock.Advance(target.Sub(now))
	}
	for {
		e.mu.Lock()
		if len(e.actions) == 0 || e.actions[0].at.After(target) {
			e.mu.Unlock()
			break
		}
		a := e.actions[0]
		e.actions = e.actions[1:]
		e.mu.Unlock()
		a.fn()
	}
	e.Clock.fire(target)
}

// at schedules fn (called with e.mu held) d after now. Callers hold e.mu.
func (e *Engine) at(d time.Duration, fn func()) {
	e.seq++
	e.actions = append(e.actions, action{at: e.Clock.Now().Add(d), seq: e.seq, fn: func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		fn()
	}})
	sort.Slice(e.actions, func(i, j int) bool {
		return e.actions[i].at.Before(e.actions[j].at) || e.actions[i].at.Equal(e.actions[j].at) && e.actions[i].seq < e.actions[j].seq
	})
}

// emit sends an event to every subscriber. Callers hold e.mu.
func (e *Engine) emit(ev engine.Event) {
	if e.DropEvents {
		return
	}
	for _, sub := range e.subs {
		if sub.ctx.Err() != nil {
			continue // its reader is gone
		}
		select {
		case sub.c <- ev:
			e.delivered++
		default:
		}
	}
}

// Endpoint names the engine.
func (e *Engine) Endpoint() string { return "memory://" }

// ID is the engine's identity.
func (e *Engine) ID(context.Context) (string, error) { return "memengine", nil }

// Build records that a service with build: was built (there are no images
// in memory: it builds when forced or the first time).
func (e *Engine) Build(_ context.Context, p *types.Project, service string, force bool, out func(string)) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.Services[service].Build == nil || e.Built[service] && !force {
		return false, nil
	}
	if e.Built == nil {
		e.Built = map[string]bool{}
	}
	e.Built[service] = true
	if out != nil {
		// A RUN step that echoes each build arg, as a careless Dockerfile
		// does (the redaction tests need foreign build output).
		args := p.Services[service].Build.Args
		for _, k := range slices.Sorted(maps.Keys(args)) {
			if v := args[k]; v != nil {
				out("RUN echo $" + k + ": " + *v)
			}
		}
		out("Successfully built " + service)
	}
	return true, nil
}

// Check returns Refuse (nil: everything can run).
func (e *Engine) Check(*types.Project) error { return e.Refuse }

// Close does nothing.
func (e *Engine) Close() error { return nil }

// Observe returns the read-only view of a project.
func (e *Engine) Observe(project string) engine.Observer {
	return &Project{e: e, name: project}
}

// Project returns a project's port; it checks nothing but that every
// service has a container name.
func (e *Engine) Project(_ context.Context, p *types.Project, policy map[string]engine.Policy) (engine.Project, error) {
	pr := &Project{e: e, name: p.Name, p: p, policy: policy, hashes: map[string][]string{}}
	for _, n := range p.ServiceNames() {
		h, err := engine.ServiceHashes(p.Services[n])
		if err != nil {
			return nil, err
		}
		pr.hashes[n] = h
	}
	return pr, nil
}

// Run creates and starts a container as another tool would (docker
// compose, or by hand), for tests of what infractl finds.
func (e *Engine) Run(name, service string, labels map[string]string, running bool, exitCode int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.create(name, service, labels)
	c := e.byID[id]
	now := e.Clock.Now()
	c.State.StartedAt = now
	if running {
		c.State.Running = true
	} else {
		c.State.Exited, c.State.ExitCode, c.State.FinishedAt = true, exitCode, now
	}
	return id
}

// AddNetwork and AddVolume make objects as another tool would.
func (e *Engine) AddNetwork(name string, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.networks[name] = labels
}

// AddVolume makes a volume as another tool would.
func (e *Engine) AddVolume(name string, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.volumes[name] = labels
}

// Lookup returns a container by name.
func (e *Engine) Lookup(name string) (engine.Container, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.byName[name]
	if !ok {
		return engine.Container{}, false
	}
	return e.byID[id].Container, true
}

func (e *Engine) create(name, service string, labels map[string]string) string {
	e.nextID++
	id := fmt.Sprintf("c%03d-%s", e.nextID, service)
	c := &ctr{Container: engine.Container{ID: id, Name: name, Service: service, Labels: labels}}
	c.OneOff = labels[engine.LabelOneoff] == "True"
	c.restart = compose.RestartPolicy{Mode: compose.RestartNo}
	if r := e.behaviors[service].Restart; r != "" {
		c.restart = compose.Restart(types.ServiceConfig{Restart: r})
	}
	if e.behaviors[service].Healthcheck {
		c.HealthTest = []string{"true"}
	}
	e.byID[id] = c
	e.byName[name] = id
	return id
}

// Down removes the project's containers, networks and volumes.
func (e *Engine) Down(_ context.Context, project string, opts engine.DownOptions) (engine.DownReport, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var rep engine.DownReport
	if err := e.errDown(); err != nil {
		return rep, err
	}
	for id, c := range e.byID {
		if !engine.Owned(c.Labels, project) {
			continue
		}
		svc := c.Service
		if s, _, ok := compose.ParseHookName(svc); ok {
			svc = s
		}
		if opts.Only != nil {
			if slices.Contains(opts.Only, c.Name) {
				delete(e.byID, id)
				delete(e.byName, c.Name)
				rep.Containers = append(rep.Containers, c.Name)
			}
			continue
		}
		orphan := opts.Services != nil && !slices.Contains(opts.Services, svc) && !c.OneOff
		if opts.OnlyOrphans && !orphan || opts.Services != nil && !slices.Contains(opts.Services, svc) && !opts.RemoveOrphans && !opts.OnlyOrphans {
			rep.Kept = append(rep.Kept, c.Name)
			continue
		}
		delete(e.byID, id)
		delete(e.byName, c.Name)
		rep.Containers = append(rep.Containers, c.Name)
	}
	if len(rep.Kept) == 0 && !opts.OnlyOrphans && opts.Only == nil {
		for n, l := range e.networks {
			if engine.Owned(l, project) {
				delete(e.networks, n)
				rep.Networks = append(rep.Networks, n)
			}
		}
		if opts.Volumes {
			for n, l := range e.volumes {
				if engine.Owned(l, project) {
					delete(e.volumes, n)
					rep.Volumes = append(rep.Volumes, n)
				}
			}
		}
	}
	sort.Strings(rep.Containers)
	sort.Strings(rep.Networks)
	sort.Strings(rep.Volumes)
	sort.Strings(rep.Kept)
	return rep, nil
}

// Project is one project on the in-memory engine.
type Project struct {
	e      *Engine
	name   string
	p      *types.Project
	policy map[string]engine.Policy
	hashes map[string][]string
	// kept records the services whose running container Prepare kept
	// (their pre_start hooks do not run).
	kept map[string]bool
}

var _ engine.Project = (*Project)(nil)

// ContainerName is compose's name for a service's container (or a hook's
// runner).
func (pr *Project) ContainerName(service string) string {
	if svc, i, ok := compose.ParseHookName(service); ok {
		return engine.HookContainerName(pr.name, svc, i)
	}
	svc, k := engine.ParseReplicaName(service)
	if pr.p != nil {
		if sc, ok := pr.p.Services[svc]; ok {
			return engine.ReplicaContainerName(pr.name, sc, k)
		}
	}
	return fmt.Sprintf("%s-%s-%d", pr.name, svc, k)
}

// service is the project's configuration of a service, when it has a model.
func (pr *Project) service(name string) (types.ServiceConfig, bool) {
	if pr.p == nil {
		return types.ServiceConfig{}, false
	}
	sc, ok := pr.p.Services[name]
	return sc, ok
}

// EnsureResources creates the project's default network, refusing one of
// that name that is not the project's.
func (pr *Project) EnsureResources(context.Context) ([]string, error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return nil, err
	}
	var warnings []string
	if pr.p != nil {
		for _, key := range slices.Sorted(maps.Keys(pr.p.Networks)) {
			def := pr.p.Networks[key]
			if bool(def.External) {
				continue
			}
			name := engine.NetworkName(pr.name, key, def)
			if l, ok := e.networks[name]; ok {
				if err := engine.ReuseNetwork(name, key, pr.name, l); err != nil {
					return warnings, err
				}
				continue
			}
			e.networks[name] = map[string]string{engine.LabelProject: pr.name, engine.LabelNetwork: key}
		}
		for _, key := range slices.Sorted(maps.Keys(pr.p.Volumes)) {
			def := pr.p.Volumes[key]
			if bool(def.External) {
				continue
			}
			name := engine.VolumeName(pr.name, key, def)
			if l, ok := e.volumes[name]; ok {
				w, err := engine.ReuseVolume(name, pr.name, l)
				if err != nil {
					return warnings, err
				}
				if w != "" {
					warnings = append(warnings, w)
				}
				continue
			}
			e.volumes[name] = map[string]string{engine.LabelProject: pr.name, engine.LabelVolume: key}
		}
	}
	return warnings, nil
}

func (pr *Project) labels(service string, oneoff bool) map[string]string {
	l := map[string]string{engine.LabelProject: pr.name, engine.LabelService: service, engine.LabelOneoff: "False", engine.LabelManagedBy: "infractl"}
	if h := pr.hashes[service]; len(h) > 0 {
		l[engine.LabelConfigHash] = h[0]
	}
	if oneoff {
		l[engine.LabelOneoff] = "True"
	}
	return l
}

// Prepare creates a service's container or keeps it, as engine.Decide says.
func (pr *Project) Prepare(_ context.Context, service string) (engine.Prepared, error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return engine.Prepared{}, err
	}
	name := pr.ContainerName(service)
	if svc, i, ok := compose.ParseHookName(service); ok {
		if pr.kept[svc] {
			return engine.Prepared{Settled: true}, nil
		}
		if id, ok := e.byName[name]; ok {
			delete(e.byID, id)
			delete(e.byName, name)
		}
		l := map[string]string{engine.LabelProject: pr.name, engine.LabelService: svc, engine.LabelHook: "pre_start", engine.LabelHookIndex: strconv.Itoa(i), engine.LabelManagedBy: "infractl"}
		return engine.Prepared{ID: e.create(name, service, l)}, nil
	}
	node := service
	service, number := engine.ParseReplicaName(node)
	var ex *engine.Existing
	id, exists := e.byName[name]
	if exists {
		c := e.byID[id]
		ex = &engine.Existing{Labels: c.Labels, Running: c.State.Running}
	}
	hashes := pr.hashes[service]
	if hashes == nil {
		hashes = []string{""} // no project model: never unchanged
	}
	switch engine.Decide(ex, pr.name, hashes, pr.policy[node]) {
	case engine.Conflict:
		return engine.Prepared{}, engine.ConflictError("container", name, service, ex.Labels)
	case engine.Keep:
		c := e.byID[id]
		if pr.kept == nil {
			pr.kept = map[string]bool{}
		}
		if number == 1 && c.State.Running {
			pr.kept[service] = true
		}
		return engine.Prepared{ID: id, Reused: true, Healthcheck: len(c.HealthTest) > 0, State: c.State}, nil
	case engine.Recreate:
		delete(e.byID, id)
		delete(e.byName, name)
	}
	labels := pr.labels(service, false)
	labels[engine.LabelNumber] = strconv.Itoa(number)
	id = e.create(name, service, labels)
	if sc, ok := pr.service(service); ok && e.behaviors[service].Restart == "" {
		e.byID[id].restart = compose.Restart(sc)
	}
	return engine.Prepared{ID: id, Healthcheck: e.behaviors[service].Healthcheck}, nil
}

// Start starts a container; its behaviour's actions are scheduled.
func (pr *Project) Start(_ context.Context, id string) error {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return err
	}
	c, ok := e.byID[id]
	if !ok {
		return fmt.Errorf("no such container %s", id)
	}
	b := e.behaviors[c.Service]
	if b.StartError != nil {
		return b.StartError
	}
	c.restarts = 0 // a start through the API resets the restart manager
	e.order = append(e.order, c.Service)
	e.run(c)
	return nil
}

// run starts a container's process (a start, or the engine's restart) and
// schedules its behaviour. Callers hold e.mu.
func (e *Engine) run(c *ctr) {
	b := e.behaviors[c.Service]
	id := c.ID
	now := e.Clock.Now()
	c.gen++
	c.runs++
	gen := c.gen
	c.State = engine.State{Running: true, StartedAt: now}
	if b.Healthcheck {
		c.State.Health, c.State.HealthOutput = engine.HealthStarting, b.HealthOutput
	}
	c.started = now
	exits := b.ExitAfter > 0
	count := 0
	for _, o := range e.byID {
		if o.State.Running && (e.behaviors[o.Service].ExitAfter > 0) == exits {
			count++
		}
	}
	e.maxRun[exits] = max(e.maxRun[exits], count)
	e.emit(engine.Event{ContainerID: id, Action: engine.ActionStart, Time: now})
	if len(b.WaitsFor) > 0 && b.GiveUpAfter > 0 {
		e.at(b.GiveUpAfter, func() {
			if c.gen == gen && c.State.Running {
				e.exit(c, b.GiveUpCode)
			}
		})
	}
	e.releaseWaiters()
	if b.ExitAfter > 0 {
		code := b.ExitCode
		if b.SucceedOnRun > 0 && c.runs >= b.SucceedOnRun {
			code = 0
		}
		e.at(b.ExitAfter, func() {
			if c.gen == gen && c.State.Running {
				e.exit(c, code)
			}
		})
	}
	health := func(after time.Duration, status string) {
		e.at(after, func() {
			if c.gen != gen || !c.State.Running {
				return
			}
			t := e.Clock.Now()
			c.State.Health = status
			c.State.HealthLog = append(c.State.HealthLog, engine.HealthRun{End: t, ExitCode: map[bool]int{true: 0, false: 1}[status == engine.HealthHealthy], Output: b.HealthOutput})
			e.emit(engine.Event{ContainerID: id, Action: engine.ActionHealth, Health: status, Time: t})
			e.releaseWaiters()
		})
	}
	if b.HealthyAfter > 0 {
		health(b.HealthyAfter, engine.HealthHealthy)
	}
	if b.UnhealthyAfter > 0 {
		health(b.UnhealthyAfter, engine.HealthUnhealthy)
	}
}

// exit ends a running container's process with code. Under on-failure with
// retries left, a non-zero exit leaves it restarting (still "running", as
// Docker's state says) and the engine runs it again after a back-off.
// Callers hold e.mu.
func (e *Engine) exit(c *ctr, code int) {
	t := e.Clock.Now()
	c.gen++
	gen := c.gen
	restart := code != 0 && c.restart.Mode == compose.RestartOnFailure && (c.restart.MaxRetries == 0 || c.restarts < c.restart.MaxRetries)
	c.State.Running, c.State.Exited, c.State.ExitCode, c.State.FinishedAt = restart, !restart, code, t
	c.State.Restarting = restart
	if restart {
		c.restarts++
		e.at(100*time.Millisecond<<(c.restarts-1), func() {
			if c.gen == gen {
				e.run(c)
			}
		})
	}
	e.emit(engine.Event{ContainerID: c.ID, Action: engine.ActionDie, ExitCode: code, Time: t})
}

// releaseWaiters exits 0 every running container whose WaitsFor services
// are all ready, in name order. Callers hold e.mu.
func (e *Engine) releaseWaiters() {
	ready := map[string]bool{}
	for _, o := range e.byID {
		if o.State.Ready() && !o.OneOff {
			ready[o.Service] = true
		}
	}
	var names []string
	for _, o := range e.byID {
		if w := e.behaviors[o.Service].WaitsFor; len(w) > 0 && o.State.Running && !slices.ContainsFunc(w, func(s string) bool { return !ready[s] }) {
			names = append(names, o.Name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		e.exit(e.byID[e.byName[n]], 0)
	}
}

// Inspect returns a container's state.
func (pr *Project) Inspect(_ context.Context, id string) (engine.State, error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return engine.State{}, err
	}
	c, ok := e.byID[id]
	if !ok {
		return engine.State{}, fmt.Errorf("no such container: %s", id)
	}
	return c.State, nil
}

// Probe runs the service's healthcheck once: it passes from ProbeOKAfter.
func (pr *Project) Probe(_ context.Context, service, id string) (bool, string, error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return false, "", err
	}
	b := e.behaviors[service]
	c, ok := e.byID[id]
	if !ok {
		return false, "", fmt.Errorf("no such container: %s", id)
	}
	ok = b.ProbeOKAfter > 0 && c.State.Running && e.Clock.Now().Sub(c.started) >= b.ProbeOKAfter
	return ok, b.HealthOutput, nil
}

// ProbeContainer probes a container found by Containers.
func (pr *Project) ProbeContainer(ctx context.Context, c engine.Container) (bool, string, error) {
	return pr.Probe(ctx, c.Service, c.ID)
}

// Stop stops a container (exit 137).
func (pr *Project) Stop(_ context.Context, id string) error {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return err
	}
	c, ok := e.byID[id]
	if !ok {
		return nil
	}
	wasRunning := c.State.Running
	c.gen++
	t := e.Clock.Now()
	c.State.Running, c.State.Exited, c.State.ExitCode, c.State.FinishedAt = false, true, 137, t
	if c.State.Health != engine.HealthNone {
		c.State.Health = engine.HealthUnhealthy
	}
	e.stopped = append(e.stopped, c.Service)
	if wasRunning {
		e.emit(engine.Event{ContainerID: id, Action: engine.ActionDie, ExitCode: 137, Time: t})
	}
	return nil
}

// Events streams events from now on; the stream breaks when the engine
// goes down. Events are sent straight into the returned channel when they
// happen, so an inspect can never see a change before its event is queued.
func (pr *Project) Events(ctx context.Context) (<-chan engine.Event, <-chan error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	errs := make(chan error, 1)
	if err := e.errDown(); err != nil {
		errs <- err
		return nil, errs
	}
	sub := &subscriber{ctx: ctx, c: make(chan engine.Event, 1024), errs: errs}
	e.subs = append(e.subs, sub)
	go func() {
		<-ctx.Done()
		e.mu.Lock()
		defer e.mu.Unlock()
		if i := slices.Index(e.subs, sub); i >= 0 {
			e.subs = slices.Delete(e.subs, i, i+1)
		}
	}()
	return sub.c, errs
}

type subscriber struct {
	ctx  context.Context
	c    chan engine.Event
	errs chan error
}

// Containers lists the project's containers by service, then name.
func (pr *Project) Containers(context.Context) ([]engine.Container, error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return nil, err
	}
	var out []engine.Container
	for _, c := range e.byID {
		if engine.Owned(c.Labels, pr.name) {
			out = append(out, c.Container)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Service < out[j].Service || out[i].Service == out[j].Service && out[i].ID < out[j].ID
	})
	return out, nil
}

// Logs returns what the container's behaviour prints, once it started.
func (pr *Project) Logs(_ context.Context, id string) ([]byte, error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return nil, err
	}
	if e.LogsError != nil {
		return nil, e.LogsError
	}
	c, ok := e.byID[id]
	if !ok {
		return nil, fmt.Errorf("no such container: %s", id)
	}
	if c.State.StartedAt.IsZero() {
		return nil, nil
	}
	return []byte(e.behaviors[c.Service].Logs), nil
}

// CreateOneOff creates a one-off container of a service.
func (pr *Project) CreateOneOff(_ context.Context, service, suffix string) (string, error) {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return "", err
	}
	name := pr.name + "-" + service + "-" + suffix
	if id, ok := e.byName[name]; ok {
		c := e.byID[id]
		if !engine.Owned(c.Labels, pr.name) {
			return "", engine.ConflictError("container", name, service, c.Labels)
		}
		delete(e.byID, id)
	}
	return e.create(name, service, pr.labels(service, true)), nil
}

// Remove removes a container.
func (pr *Project) Remove(_ context.Context, id string) error {
	e := pr.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.errDown(); err != nil {
		return err
	}
	if c, ok := e.byID[id]; ok {
		c.gen++
		delete(e.byID, id)
		delete(e.byName, c.Name)
	}
	return nil
}

// Dial is not possible in memory.
func (pr *Project) Dial(_ context.Context, _ []engine.Container, _, addr string) (net.Conn, error) {
	return nil, fmt.Errorf("dial %s: the in-memory engine has no network", strings.TrimSpace(addr))
}

// Clock is the engine's fake clock: tickers fire only in Step, after the
// actions due, and count as deliveries.
type Clock struct {
	*clockwork.FakeClock
	e       *Engine
	mu      sync.Mutex
	tickers []*ticker
}

type ticker struct {
	clock *Clock
	c     chan time.Time
	d     time.Duration
	next  time.Time
}

func (t *ticker) Chan() <-chan time.Time { return t.c }

// Reset is not used by the scheduler.
func (t *ticker) Reset(time.Duration) {}

// Stop removes the ticker from the clock.
func (t *ticker) Stop() {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if i := slices.Index(t.clock.tickers, t); i >= 0 {
		t.clock.tickers = slices.Delete(t.clock.tickers, i, i+1)
	}
}

// NewTicker returns a ticker fired by Step.
func (c *Clock) NewTicker(d time.Duration) clockwork.Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &ticker{clock: c, c: make(chan time.Time, 1), d: d, next: c.Now().Add(d)}
	c.tickers = append(c.tickers, t)
	return t
}

func (c *Clock) nextTick() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for _, t := range c.tickers {
		if next.IsZero() || t.next.Before(next) {
			next = t.next
		}
	}
	return next, !next.IsZero()
}

// fire sends one tick on every ticker due by end.
func (c *Clock) fire(end time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tickers {
		if t.next.After(end) {
			continue
		}
		for !t.next.After(end) {
			t.next = t.next.Add(t.d)
		}
		select {
		case t.c <- end:
			c.e.mu.Lock()
			c.e.delivered++
			c.e.mu.Unlock()
		default:
		}
	}
}

// BareProject is a project with no compose model, for scheduler tests:
// containers are named <name>-<service>-1 and never kept.
func (e *Engine) BareProject(name string) *Project {
	return &Project{e: e, name: name, hashes: map[string][]string{}}
}

// SetState sets the state of a container made by Run (a backend's health,
// an init's exit).
func (e *Engine) SetState(name string, st engine.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.byName[name]; ok {
		e.byID[id].State = st
	}
}

// Drive runs fn, which runs a scheduler with the given idle hook (its
// Options.Idle), stepping the clock by at most step only while the
// scheduler is idle and has taken everything delivered, until fn returns
// or max fake time passed (then it returns false).
func (e *Engine) Drive(step, maxTime time.Duration, fn func(idle func(received int))) bool {
	var mu sync.Mutex
	idle := -1
	wake := make(chan struct{}, 1)
	hook := func(n int) {
		mu.Lock()
		idle = n
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	done := make(chan struct{})
	base := e.Delivered()
	go func() {
		defer close(done)
		fn(hook)
	}()
	start := e.Clock.Now()
	for e.Clock.Since(start) < maxTime {
		for {
			mu.Lock()
			ready := idle == e.Delivered()-base
			mu.Unlock()
			if ready {
				break
			}
			select {
			case <-done:
				return true
			case <-wake:
			}
		}
		e.Step(step)
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}
