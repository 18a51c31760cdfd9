package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/infractl/infractl/internal/engine"
)

// ErrStuck means no node can make progress: nothing runs, nothing is in
// flight, and every node left waits on another that waits (a dependency
// cycle; the loader refuses cycles first, so this is a guard).
var ErrStuck = errors.New("no service can start: they wait on each other")

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
	cont   engine.Prepared
	state  engine.State
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
		opts.SafetyInterval = defaultSafetyInterval
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = 10 * time.Minute
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 5 * time.Minute
	}
	if opts.EngineLossTimeout <= 0 {
		opts.EngineLossTimeout = 10 * time.Second
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
	// wait for dependencies, starting does. A node created after another
	// waits for that one's container.
	prepare := func(name string) {
		st[name].phase = preparing
		inflight++
		go func() {
			c, err := s.rt.Prepare(runCtx, name)
			send(msg{node: name, kind: "prepared", cont: c, err: err})
		}()
	}
	for _, name := range sortedNames(st) {
		if a := st[name].node.CreateAfter; a == "" {
			prepare(name)
		} else if _, ok := st[a]; !ok {
			return nil, fmt.Errorf("service %q is created after unknown service %q", name, a)
		}
	}

	ticker := s.clock.NewTicker(s.opts.TickEvery())
	defer ticker.Stop()

	interrupted := false
	received := 0 // engine events and ticks taken (Options.Idle)
	var stash []msg
	var engineErr error
	var last Input // what the loop processed last (Trace)
	// The engine is presumed lost from lostSince (a broken event stream or
	// a failed inspect) until a call succeeds; after EngineLossTimeout the
	// run ends with an engine error.
	var lostSince time.Time
	var lostCause error
	streamBroken := false
	engineTrouble := func(err error, now time.Time) {
		if errors.Is(err, engine.ErrLost) {
			// The adapter gave the engine up already (it stopped
			// answering): the loss ends the run on the next tick.
			lostSince, lostCause = now.Add(-s.opts.EngineLossTimeout), err
			return
		}
		if lostSince.IsZero() {
			lostSince, lostCause = now, err
		}
	}

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
	apply := func(ns *nodeState, state engine.State, now time.Time) {
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

	handleEvent := func(ev engine.Event) {
		received++
		name, known := byID[ev.ContainerID]
		if !known {
			return
		}
		ns := st[name]
		// A finished init's exit still counts (its code is the result);
		// so does the exit of a service that was ready when it started
		// and turns out to be a one-shot.
		if ns.phase == finished && !(ev.Action == engine.ActionDie && (ns.node.Init || s.mayTurnOneShot(ns))) {
			return
		}
		t := orNow(ev.Time, s.clock.Now())
		last = Input{Node: name, Action: ev.Action, EngineTime: ev.Time, Received: s.clock.Now()}
		if ev.Health != "" {
			last.Action += ": " + ev.Health
		}
		switch ev.Action {
		case engine.ActionStart:
			if ns.res.Restarting {
				ns.res.Restarting = false
				notify(ns)
			}
			apply(ns, engine.State{Running: true, StartedAt: t}, t)
		case engine.ActionDie:
			// A service that was ready when it started and exits now is
			// judged again (a finished init's exit is its result).
			reopen := ns.phase == finished && !ns.node.Init
			if (ns.phase != finished || reopen) && ev.ExitCode != 0 && ns.node.retries(ns.res.Retries+1) {
				// The engine restarts it after a back-off: a retry, not
				// the end (an inspect that finds it exited ends it).
				if reopen {
					ns.phase, ns.res.Outcome = running, ""
				}
				ns.res.Retries++
				ns.res.Restarting = true
				ns.res.Detail = fmt.Sprintf("exited %d; restart: on-failure runs it again (retry %d%s)", ev.ExitCode, ns.res.Retries, ofMax(ns.node.MaxRetries))
				notify(ns)
				return
			}
			if reopen {
				// It has exited for good: a one-shot after all, and it
				// was never "ready".
				ns.res.Observed = true
				ns.res.Ready, ns.res.ReadyBy = time.Time{}, ""
				ns.phase = running
			}
			apply(ns, engine.State{Exited: true, ExitCode: ev.ExitCode, FinishedAt: t}, t)
		case engine.ActionHealth:
			apply(ns, engine.State{Running: true, Health: ev.Health}, t)
		}
	}

	handleMsg := func(m msg) {
		now := s.clock.Now()
		last = Input{Node: m.node, Action: m.kind, Received: now}
		ns := st[m.node]
		switch m.kind {
		case "prepared":
			inflight--
			if m.err != nil {
				if interrupted {
					return
				}
				engineErr = fmt.Errorf("service %q: %w", m.node, m.err)
				finish(ns, Error, m.err.Error())
				return
			}
			ns.res.ContainerID, ns.res.Reused, ns.res.Prepared = m.cont.ID, m.cont.Reused, now
			if m.cont.ID != "" {
				byID[m.cont.ID] = m.node
			}
			if ns.phase == finished {
				return
			}
			if !interrupted {
				for _, name := range sortedNames(st) {
					if o := st[name]; o.node.CreateAfter == m.node && o.phase == pending {
						prepare(name)
					}
				}
			}
			if m.cont.Settled {
				// Nothing to run: done as it stands (a hook of a service
				// kept running).
				ns.phase, ns.started, ns.exited, ns.res.ExitCode, ns.res.Reused = running, true, true, 0, true
				finish(ns, OK, "not run: its service's container is kept running, and hooks run only before a start")
				return
			}
			ns.phase = prepared
			ns.hasHealth = m.cont.Healthcheck
			if !m.cont.Reused || m.cont.State.Running {
				// A kept container that is stopped (--no-recreate) is
				// started like a new one; its old exit is not this run's.
				apply(ns, m.cont.State, now)
			}
			notify(ns)
		case "started":
			inflight--
			if ns.phase == finished {
				return
			}
			if m.err != nil {
				if errors.Is(m.err, engine.ErrLost) {
					engineTrouble(m.err, now)
				}
				finish(ns, Failed, "start failed: "+m.err.Error())
				return
			}
			apply(ns, engine.State{Running: true}, now)
			notify(ns)
		case "inspected":
			inflight--
			switch {
			case m.err == nil:
				lostSince, lostCause = time.Time{}, nil
				if ns.phase != finished {
					if m.state.Exited {
						ns.res.Restarting = false
					}
					apply(ns, m.state, now)
				}
			case errors.Is(m.err, engine.ErrEngine):
				engineTrouble(m.err, now)
			case ns.phase != finished:
				// Not the engine's fault: the container is gone
				// (removed by hand or by another run).
				finish(ns, Failed, "its container disappeared: "+m.err.Error())
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
			if inflight == 0 && stuck(st) {
				for _, name := range sortedNames(st) {
					finish(st[name], Error, ErrStuck.Error())
				}
				engineErr = ErrStuck
			}
		}

		if allFinished(st) && inflight == 0 {
			break
		}
		if engineErr != nil && inflight == 0 {
			for _, name := range sortedNames(st) {
				finish(st[name], Error, engineErr.Error())
			}
			break
		}

		var done <-chan struct{}
		if !interrupted {
			done = ctx.Done()
		}
		// Engine events come first: they carry the engine's own time, and
		// a tick's inspect must not overtake the event that says the same.
		if events != nil {
			select {
			case ev, ok := <-events:
				if !ok {
					events = nil
				} else {
					handleEvent(ev)
				}
				continue
			default:
			}
		}
		if len(stash) > 0 {
			m := stash[0]
			stash = stash[1:]
			handleMsg(m)
			continue
		}
		if s.opts.Idle != nil && inflight == 0 && len(inbox) == 0 && len(events) == 0 && len(ticker.Chan()) == 0 {
			s.opts.Idle(received)
		}
		select {
		case <-done:
			continue
		case m := <-inbox:
			if len(events) > 0 {
				// An event the engine sent before this answer was made
				// goes first (an inspect must not overtake the die event
				// whose effect it saw).
				stash = append(stash, m)
				continue
			}
			handleMsg(m)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			handleEvent(ev)
		case err, ok := <-evErrs:
			if !ok {
				evErrs = nil
				continue
			}
			if err != nil && !interrupted && runCtx.Err() == nil {
				// The stream broke: resubscribe on the next tick and
				// inspect every running container then, so nothing that
				// happened meanwhile is missed.
				events, evErrs = nil, nil
				streamBroken = true
				engineTrouble(fmt.Errorf("the engine's event stream broke: %w", err), s.clock.Now())
			}
		case <-ticker.Chan():
			received++
			now := s.clock.Now()
			last = Input{Action: "tick", Received: now}
			if streamBroken && !interrupted {
				streamBroken = false
				events, evErrs = s.rt.Events(runCtx)
				for _, ns := range st {
					ns.lastCheck = time.Time{}
				}
			}
			if !lostSince.IsZero() && now.Sub(lostSince) >= s.opts.EngineLossTimeout && engineErr == nil && !interrupted {
				engineErr = fmt.Errorf("lost the Docker engine for %s: %w", s.opts.EngineLossTimeout, lostCause)
				s.abandon(runCtx, st, &inflight, send, finish, engineErr)
				continue
			}
			if !lostSince.IsZero() && engineErr == nil && !interrupted {
				// Ask the engine about one container: an answer ends the
				// loss, running or not.
				for _, name := range sortedNames(st) {
					ns := st[name]
					if ns.res.ContainerID == "" || ns.phase == running {
						continue
					}
					id := ns.res.ContainerID
					inflight++
					go func() {
						state, err := s.rt.Inspect(runCtx, id)
						send(msg{node: name, kind: "inspected", state: state, err: err})
					}()
					break
				}
			}
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
				} else if ns.exited && ns.node.mayStayExited() {
					// Not declared an init, but its restart policy let it
					// stay exited and it did: judged as a one-shot.
					ns.res.Observed = true
					if ns.res.ExitCode == 0 && !ns.waitedOn {
						finish(ns, OK, "")
					} else {
						finish(ns, Failed, ns.res.Detail)
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

// mayTurnOneShot reports whether a finished non-init node that was ready
// when it started can still turn out a one-shot: its restart policy lets it
// stay exited and it has not exited yet.
func (s *Scheduler) mayTurnOneShot(ns *nodeState) bool {
	return !ns.node.Init && ns.node.mayStayExited() && ns.res.Outcome == OK && !ns.exited
}

func ofMax(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" of %d", n)
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

// stuck reports a run where nothing runs or is being started and nodes are
// left that cannot start: each waits on another that waits.
func stuck(st map[string]*nodeState) bool {
	left := false
	for _, ns := range st {
		switch ns.phase {
		case preparing, starting, running:
			return false
		case prepared, pending:
			left = true
		}
	}
	return left
}

// abandon ends a run whose engine is gone: every unfinished node is an
// error, and the inits this run started are stopped if the engine answers
// (best effort, bounded); those it could not stop say so.
func (s *Scheduler) abandon(ctx context.Context, st map[string]*nodeState, inflight *int, send func(msg), finish func(*nodeState, Outcome, string), cause error) {
	for _, name := range sortedNames(st) {
		ns := st[name]
		if ns.phase == finished {
			continue
		}
		detail := cause.Error()
		if ns.node.Init && ns.ranByUs && ns.res.ContainerID != "" && (ns.phase == running || ns.phase == starting) {
			*inflight++
			id := ns.res.ContainerID
			go func() {
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				err := s.rt.Stop(sctx, id)
				send(msg{node: name, kind: "stopped", err: err})
			}()
			detail += "; its container may still run (infractl down removes it)"
		}
		finish(ns, Error, detail)
	}
}
