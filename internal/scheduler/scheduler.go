package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"
)

// ErrCycle means the nodes' dependencies form a cycle (the loader reports
// cycles first; this is a guard).
var ErrCycle = errors.New("dependency cycle")

type phase int

const (
	pending   phase = iota // not prepared yet
	preparing              // Prepare in flight
	prepared               // container exists, not started
	starting               // Start in flight
	running                // started, not finished
	finished               // terminal
)

type nodeState struct {
	node      Node
	phase     phase
	res       Result
	healthy   bool
	health    string
	started   bool
	exited    bool
	probing   bool
	lastProbe time.Time
	lastCheck time.Time
	ranByUs   bool
	waitedOn  bool // something waits on it with service_healthy
	hasHealth bool
}

type msg struct {
	node   string
	kind   string // prepared, started, inspected, probed, event
	cont   Container
	state  State
	err    error
	ok     bool
	output string
}

// Scheduler runs nodes over a Runtime.
type Scheduler struct {
	rt    Runtime
	clock clockwork.Clock
	opts  Options
}

// New returns a scheduler. A nil clock means the real one.
func New(rt Runtime, clock clockwork.Clock, opts Options) *Scheduler {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if opts.SafetyInterval <= 0 {
		opts.SafetyInterval = 2 * time.Second
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = 10 * time.Minute
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 5 * time.Minute
	}
	return &Scheduler{rt: rt, clock: clock, opts: opts}
}

// Run runs every node and returns one result per node, sorted by name. The
// error is ctx's when interrupted (results are partial: what ran is
// reported, what did not is "interrupted"), or an engine failure that
// prevented the run.
func (s *Scheduler) Run(ctx context.Context, nodes []Node) ([]Result, error) {
	st := map[string]*nodeState{}
	for _, n := range nodes {
		st[n.Name] = &nodeState{node: n, res: Result{Name: n.Name, Init: n.Init, ExitCode: -1}}
	}
	for _, n := range nodes {
		for _, d := range n.Deps {
			if _, ok := st[d.Target]; !ok {
				return nil, fmt.Errorf("service %q depends on unknown service %q", n.Name, d.Target)
			}
			if d.Condition == Healthy {
				st[d.Target].waitedOn = true
			}
		}
	}
	if err := checkAcyclic(nodes); err != nil {
		return nil, err
	}

	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	events, evErrs := s.rt.Events(runCtx)
	inbox := make(chan msg, 64)
	inflight := 0
	send := func(m msg) {
		select {
		case inbox <- m:
		case <-runCtx.Done():
		}
	}
	byID := map[string]string{}

	// Create every container up front, concurrently: creation does not
	// wait for dependencies, starting does.
	for _, name := range sortedNames(st) {
		ns := st[name]
		ns.phase = preparing
		inflight++
		go func() {
			c, err := s.rt.Prepare(runCtx, name)
			send(msg{node: name, kind: "prepared", cont: c, err: err})
		}()
	}

	tickEvery := s.opts.SafetyInterval
	if s.opts.ProbeInterval > 0 && s.opts.ProbeInterval < tickEvery {
		tickEvery = s.opts.ProbeInterval
	}
	ticker := s.clock.NewTicker(tickEvery)
	defer ticker.Stop()

	interrupted := false
	var engineErr error
	var last Input // what the loop processed last (Trace)

	notify := func(ns *nodeState) {
		if s.opts.Observer != nil {
			s.opts.Observer(ns.res)
		}
	}
	finish := func(ns *nodeState, o Outcome, detail string) {
		if ns.phase == finished {
			return
		}
		ns.phase = finished
		ns.res.Outcome = o
		if detail != "" {
			ns.res.Detail = detail
		}
		notify(ns)
	}
	// apply folds a state (from inspect or prepare) into a node.
	apply := func(ns *nodeState, state State, now time.Time) {
		if state.Running || state.Exited {
			if !ns.started {
				ns.started = true
				if ns.hasHealth && ns.health == "" {
					ns.health = "starting"
				}
				if ns.res.Started.IsZero() {
					ns.res.Started = orNow(state.StartedAt, now)
				}
				if ns.phase < running {
					ns.phase = running
				}
			}
		}
		if state.Health != "" {
			ns.health = state.Health
			if state.HealthOutput != "" && ns.res.Detail == "" || state.Health == "unhealthy" {
				ns.res.Detail = lastLine(state.HealthOutput)
			}
		}
		if state.Health == "healthy" && !ns.healthy {
			ns.healthy = true
			ns.res.Ready = now
			ns.res.ReadyBy = "healthcheck"
		}
		if state.Exited && !ns.exited {
			ns.exited = true
			ns.res.ExitCode = state.ExitCode
			ns.res.Exited = orNow(state.FinishedAt, now)
		}
	}

	for {
		now := s.clock.Now()
		if !interrupted && ctx.Err() != nil {
			interrupted = true
			for _, name := range sortedNames(st) {
				ns := st[name]
				if ns.phase == finished {
					continue
				}
				if ns.res.ContainerID != "" && ns.node.Init && (ns.phase == running || ns.phase == starting) && ns.ranByUs {
					inflight++
					id := ns.res.ContainerID
					go func() {
						err := s.rt.Stop(runCtx, id)
						send(msg{node: name, kind: "stopped", err: err})
					}()
				}
				if ns.node.Init || ns.phase < running {
					finish(ns, Interrupted, "")
				} else {
					// A backend that runs is left running: report what it is.
					if o, d, done := s.settleBackend(ns, now); done {
						finish(ns, o, d)
					} else {
						finish(ns, Interrupted, "not ready yet")
					}
				}
			}
		}

		if !interrupted && engineErr == nil {
			s.evaluate(runCtx, st, &inflight, send, finish, now, last)
		}

		if allFinished(st) && inflight == 0 {
			break
		}
		if engineErr != nil && inflight == 0 {
			for _, ns := range st {
				finish(ns, Error, engineErr.Error())
			}
			break
		}

		var done <-chan struct{}
		if !interrupted {
			done = ctx.Done()
		}
		select {
		case <-done:
			continue
		case m := <-inbox:
			now := s.clock.Now()
			last = Input{Node: m.node, Action: m.kind, Received: now}
			ns := st[m.node]
			switch m.kind {
			case "prepared":
				inflight--
				if m.err != nil {
					if interrupted {
						continue
					}
					engineErr = fmt.Errorf("service %q: %w", m.node, m.err)
					finish(ns, Error, m.err.Error())
					continue
				}
				ns.res.ContainerID, ns.res.Reused, ns.res.Prepared = m.cont.ID, m.cont.Reused, now
				byID[m.cont.ID] = m.node
				if ns.phase == finished {
					continue
				}
				ns.phase = prepared
				ns.hasHealth = m.cont.Healthcheck
				apply(ns, m.cont.State, now)
				notify(ns)
			case "started":
				inflight--
				if ns.phase == finished {
					continue
				}
				if m.err != nil {
					finish(ns, Failed, "start failed: "+m.err.Error())
					continue
				}
				apply(ns, State{Running: true}, now)
				notify(ns)
			case "inspected":
				inflight--
				if m.err == nil && ns.phase != finished {
					apply(ns, m.state, now)
				}
			case "probed":
				inflight--
				ns.probing = false
				ns.lastProbe = now
				if m.output != "" {
					ns.res.Detail = lastLine(m.output)
				}
				if m.ok && !ns.healthy && ns.phase != finished {
					ns.healthy = true
					ns.res.Ready = now
					ns.res.ReadyBy = "probe"
					notify(ns)
				}
			case "stopped":
				inflight--
			}
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			name, known := byID[ev.ContainerID]
			if !known {
				continue
			}
			ns := st[name]
			if ns.phase == finished && !(ns.node.Init && ev.Action == "die") {
				continue
			}
			t := orNow(ev.Time, s.clock.Now())
			last = Input{Node: name, Action: ev.Action, EngineTime: ev.Time, Received: s.clock.Now()}
			if ev.Health != "" {
				last.Action += ": " + ev.Health
			}
			switch ev.Action {
			case "start":
				apply(ns, State{Running: true, StartedAt: t}, t)
			case "die":
				apply(ns, State{Exited: true, ExitCode: ev.ExitCode, FinishedAt: t}, t)
			case "health_status":
				apply(ns, State{Running: true, Health: ev.Health}, t)
			}
		case err, ok := <-evErrs:
			if !ok {
				evErrs = nil
				continue
			}
			if err != nil && !interrupted && runCtx.Err() == nil {
				// The stream broke: keep going on the safety-net inspects.
				events, evErrs = nil, nil
			}
		case <-ticker.Chan():
			now := s.clock.Now()
			last = Input{Action: "tick", Received: now}
			for _, name := range sortedNames(st) {
				ns := st[name]
				if ns.phase != running || ns.res.ContainerID == "" {
					continue
				}
				id := ns.res.ContainerID
				if now.Sub(ns.lastCheck) >= s.opts.SafetyInterval {
					ns.lastCheck = now
					inflight++
					go func() {
						state, err := s.rt.Inspect(runCtx, id)
						send(msg{node: name, kind: "inspected", state: state, err: err})
					}()
				}
				if s.opts.ProbeInterval > 0 && ns.waitedOn && !ns.healthy && !ns.exited && !ns.probing &&
					ns.health == "starting" && now.Sub(ns.lastProbe) >= s.opts.ProbeInterval {
					ns.probing = true
					inflight++
					go func() {
						ok, out, err := s.rt.Probe(runCtx, name, id)
						if err != nil {
							ok, out = false, err.Error()
						}
						send(msg{node: name, kind: "probed", ok: ok, output: out})
					}()
				}
			}
		}
	}

	results := make([]Result, 0, len(st))
	for _, name := range sortedNames(st) {
		results = append(results, st[name].res)
	}
	if interrupted {
		return results, ctx.Err()
	}
	if engineErr != nil {
		return results, engineErr
	}
	return results, nil
}

// evaluate settles running nodes, blocks what waits on failures, and starts
// every prepared node whose conditions hold.
func (s *Scheduler) evaluate(ctx context.Context, st map[string]*nodeState, inflight *int,
	send func(msg), finish func(*nodeState, Outcome, string), now time.Time, trigger Input,
) {
	runningInits := 0
	for _, ns := range st {
		if ns.node.Init && (ns.phase == starting || ns.phase == running) {
			runningInits++
		}
	}
	for changed := true; changed; {
		changed = false
		for _, name := range sortedNames(st) {
			ns := st[name]
			before := ns.phase
			if ns.phase == running {
				if ns.node.Init {
					switch {
					case ns.exited && ns.res.ExitCode == 0:
						finish(ns, OK, "")
					case ns.exited:
						finish(ns, Failed, "")
					case now.Sub(ns.res.Started) >= s.opts.InitTimeout:
						finish(ns, TimedOut, fmt.Sprintf("still running after %s", s.opts.InitTimeout))
						*inflight++
						id := ns.res.ContainerID
						go func() {
							err := s.rt.Stop(ctx, id)
							send(msg{node: name, kind: "stopped", err: err})
						}()
					}
				} else if o, d, done := s.settleBackend(ns, now); done {
					finish(ns, o, d)
				}
			}
			if ns.phase != prepared && ns.phase != pending && ns.phase != preparing {
				if ns.phase != before {
					changed = true
				}
				continue
			}
			// Blocked by a failed dependency?
			ready := true
			for _, d := range ns.node.Deps {
				t := st[d.Target]
				sat, failed, why := condition(t, d.Condition)
				if failed && !d.Required {
					continue
				}
				if failed {
					ns.res.BlockedBy = d.Target
					finish(ns, Blocked, why)
					changed = true
					break
				}
				if !sat {
					ready = false
				}
			}
			if ns.phase == finished {
				continue
			}
			if ready && ns.res.DepsReady.IsZero() {
				ns.res.DepsReady = now
			}
			if !ready || ns.phase != prepared {
				continue
			}
			if ns.res.Reused && ns.started {
				// A kept backend that already runs.
				ns.phase = running
				changed = true
				continue
			}
			if ns.node.Init && s.opts.Parallel > 0 && runningInits >= s.opts.Parallel {
				continue
			}
			ns.phase = starting
			ns.ranByUs = true
			if ns.node.Init {
				runningInits++
			}
			*inflight++
			id := ns.res.ContainerID
			go func() {
				called := s.clock.Now()
				err := s.rt.Start(ctx, id)
				if s.opts.Trace != nil {
					s.opts.Trace(Dispatch{Node: name, Trigger: trigger, Called: called, Returned: s.clock.Now()})
				}
				send(msg{node: name, kind: "started", err: err})
			}()
			changed = true
		}
	}
}

// settleBackend decides whether a non-init node is done: ready (healthy, or
// started when it has no healthcheck), unhealthy, exited or timed out.
func (s *Scheduler) settleBackend(ns *nodeState, now time.Time) (Outcome, string, bool) {
	switch {
	case ns.exited && ns.res.ExitCode == 0 && !ns.waitedOn:
		return OK, "", true
	case ns.exited:
		return Failed, "", true
	case ns.healthy:
		return OK, "", true
	case ns.health == "unhealthy":
		return Unhealthy, ns.res.Detail, true
	case !ns.hasHealth && ns.started:
		// No healthcheck: ready once started, unless something waits for
		// it to be healthy, which can never happen (compose: "has no
		// healthcheck configured").
		if ns.waitedOn {
			return Unhealthy, "has no healthcheck configured, but a service waits for it with service_healthy", true
		}
		if ns.res.Ready.IsZero() {
			ns.res.Ready, ns.res.ReadyBy = ns.res.Started, "started"
		}
		return OK, "", true
	case !ns.res.Started.IsZero() && now.Sub(ns.res.Started) >= s.opts.ReadyTimeout:
		if ns.res.Detail == "" {
			return TimedOut, fmt.Sprintf("not ready after %s", s.opts.ReadyTimeout), true
		}
		return TimedOut, fmt.Sprintf("not ready after %s; last healthcheck: %s", s.opts.ReadyTimeout, ns.res.Detail), true
	}
	return "", "", false
}

// condition reports whether target satisfies cond, or can no longer.
func condition(t *nodeState, cond Condition) (sat, failed bool, why string) {
	failedOutcome := t.phase == finished && t.res.Outcome != OK
	switch cond {
	case Completed:
		if t.exited && t.res.ExitCode == 0 {
			return true, false, ""
		}
		if t.exited {
			return false, true, fmt.Sprintf("%q exited %d", t.node.Name, t.res.ExitCode)
		}
	case Healthy:
		if t.healthy {
			return true, false, ""
		}
		if t.exited {
			return false, true, fmt.Sprintf("%q exited %d before it was healthy", t.node.Name, t.res.ExitCode)
		}
	default:
		if t.started {
			return true, false, ""
		}
	}
	if failedOutcome {
		why := fmt.Sprintf("%q is %s", t.node.Name, t.res.Outcome)
		if t.res.Detail != "" {
			why += ": " + t.res.Detail
		}
		return false, true, why
	}
	return false, false, ""
}

func allFinished(st map[string]*nodeState) bool {
	for _, ns := range st {
		if ns.phase != finished {
			return false
		}
	}
	return true
}

func sortedNames(st map[string]*nodeState) []string {
	return slices.Sorted(maps.Keys(st))
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

func lastLine(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

func checkAcyclic(nodes []Node) error {
	deps := map[string][]string{}
	for _, n := range nodes {
		for _, d := range n.Deps {
			deps[n.Name] = append(deps[n.Name], d.Target)
		}
	}
	state := map[string]int{}
	var visit func(string) bool
	visit = func(n string) bool {
		if state[n] == 1 {
			return false
		}
		if state[n] == 2 {
			return true
		}
		state[n] = 1
		for _, d := range deps[n] {
			if !visit(d) {
				return false
			}
		}
		state[n] = 2
		return true
	}
	for _, n := range nodes {
		if !visit(n.Name) {
			return fmt.Errorf("%w through %q", ErrCycle, n.Name)
		}
	}
	return nil
}
