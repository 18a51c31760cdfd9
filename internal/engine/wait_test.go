package engine_test

import (
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/engine/memengine"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// An exit delivered before the deadline fires counts, even when the waiter
// sees both at once (select would pick either).
func TestWaitForTakesAnEventDeliveredBeforeTheDeadline(t *testing.T) {
	for range 200 {
		e := memengine.New(t0, nil)
		id := e.Run("p-init-1", "init", map[string]string{engine.LabelProject: "p", engine.LabelService: "init"}, true, 0)
		pr := e.BareProject("p")
		type result struct {
			st map[string]engine.State
			ok bool
		}
		got := make(chan result, 1)
		go func() {
			st, ok, err := engine.WaitFor(t.Context(), pr, e.Clock, []string{id}, 5*time.Second, engine.State.Finished)
			if err != nil {
				t.Error(err)
			}
			got <- result{st, ok}
		}()
		if err := e.Clock.BlockUntilContext(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		// The exit, then the deadline, with no chance for the waiter to
		// run in between.
		if err := pr.Stop(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		e.Step(5 * time.Second)
		r := <-got
		if !r.ok || !r.st[id].Exited {
			t.Fatalf("WaitFor = %+v, %v; want the exit seen", r.st[id], r.ok)
		}
	}
}

// With nothing delivered, the deadline ends the wait.
func TestWaitForGivesUpAtTheDeadline(t *testing.T) {
	e := memengine.New(t0, nil)
	id := e.Run("p-init-1", "init", map[string]string{engine.LabelProject: "p", engine.LabelService: "init"}, true, 0)
	pr := e.BareProject("p")
	got := make(chan bool, 1)
	go func() {
		_, ok, err := engine.WaitFor(t.Context(), pr, e.Clock, []string{id}, 5*time.Second, engine.State.Finished)
		if err != nil {
			t.Error(err)
		}
		got <- ok
	}()
	if err := e.Clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	e.Step(5 * time.Second)
	if <-got {
		t.Fatal("WaitFor reported done with the container still running")
	}
}
