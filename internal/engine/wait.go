package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"
)

// WaitFor waits, on the engine's events, until done holds for the state of
// every container in ids, or d passes, or ctx ends. It subscribes first and
// inspects second, so a change between the two is never missed. It returns
// the last state seen of each container and whether done held for all. d
// is measured on clock (nil: the real clock), so tests on the in-memory
// engine decide when it passes.
func WaitFor(ctx context.Context, rt Runtime, clock clockwork.Clock, ids []string, d time.Duration, done func(State) bool) (map[string]State, bool, error) {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs, errs := rt.Events(ctx)
	states := map[string]State{}
	pending := map[string]bool{}
	for _, id := range ids {
		st, err := rt.Inspect(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return states, false, nil
			}
			return states, false, err
		}
		states[id] = st
		if !done(st) {
			pending[id] = true
		}
	}
	if len(pending) == 0 {
		return states, true, nil
	}
	deadline := clock.NewTimer(d)
	defer deadline.Stop()
	// take handles one event; it reports whether to stop waiting.
	take := func(ev Event) error {
		if !slices.Contains(ids, ev.ContainerID) {
			return nil
		}
		// The event says something changed: inspect for the whole state (a
		// health event does not carry the exit code).
		st, err := rt.Inspect(ctx, ev.ContainerID)
		if err != nil {
			return err
		}
		states[ev.ContainerID] = st
		if done(st) {
			delete(pending, ev.ContainerID)
		}
		return nil
	}
	for len(pending) > 0 {
		select {
		case <-deadline.Chan():
			// An event delivered before the deadline fired still counts:
			// when both are ready, select picks either, so take what is
			// already here before giving up.
		drain:
			for len(pending) > 0 {
				select {
				case ev, ok := <-evs:
					if !ok {
						break drain
					}
					if err := take(ev); err != nil {
						return states, false, err
					}
				default:
					break drain
				}
			}
			return states, len(pending) == 0, nil
		case <-ctx.Done():
			return states, false, nil
		case err := <-errs:
			if ctx.Err() != nil {
				return states, false, nil
			}
			return states, false, fmt.Errorf("event stream: %w: %w", err, ErrEngine)
		case ev, ok := <-evs:
			if !ok {
				evs = nil
				continue
			}
			if err := take(ev); err != nil {
				if ctx.Err() != nil {
					return states, false, nil
				}
				return states, false, err
			}
		}
	}
	return states, true, nil
}
