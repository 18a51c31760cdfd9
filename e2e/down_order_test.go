//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/engine"
)

// stopEvents records, per service, when the engine first signalled its
// container to stop (kill with SIGTERM) and when it was killed and died.
type stopEvents struct {
	mu              sync.Mutex
	term, kill, die map[string]time.Time
}

func watchStops(t *testing.T, p string) (*stopEvents, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	f := client.Filters{}
	f.Add("type", "container")
	f.Add("label", engine.LabelProject+"="+p)
	ev := docker.Events(ctx, client.EventsListOptions{Filters: f})
	s := &stopEvents{term: map[string]time.Time{}, kill: map[string]time.Time{}, die: map[string]time.Time{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var m events.Message
			select {
			case m = <-ev.Messages:
			case <-ev.Err:
				return
			case <-ctx.Done():
				return
			}
			svc := m.Actor.Attributes[engine.LabelService]
			at := time.Unix(0, m.TimeNano)
			s.mu.Lock()
			switch {
			case m.Action == "kill" && m.Actor.Attributes["signal"] == "9":
				s.kill[svc] = at
			case m.Action == "kill":
				if _, ok := s.term[svc]; !ok {
					s.term[svc] = at
				}
			case m.Action == "die":
				s.die[svc] = at
			}
			s.mu.Unlock()
		}
	}()
	return s, func() {
		// The engine delivers its events shortly after the calls.
		time.Sleep(500 * time.Millisecond)
		cancel()
		<-done
	}
}

// TestE2EDownAsCompose: down stops what depends on a service before the
// service (from the engine's events), each container with its own
// stop_grace_period, and -t overrides it; docker compose v5.6.0's down of
// the same project, in the same test, is held to the same.
func TestE2EDownAsCompose(t *testing.T) {
	dir := fixture("e2e-down")
	edges := [][2]string{{"web", "api"}, {"api", "db"}, {"worker", "db"}} // dependent, dependency
	for _, tool := range []string{"compose", "infractl"} {
		t.Run(tool, func(t *testing.T) {
			p := "e2e-down-" + tool
			file := filepath.Join(dir, "compose.yaml")
			up := func(file string) {
				t.Helper()
				if tool == "compose" {
					if out, err := dockerCompose(t, "-f", file, "-p", p, "up", "-d"); err != nil {
						t.Fatalf("up: %v\n%s", err, out)
					}
				} else if r := infra(t, "up", "-f", file, "-p", p); r.code != 0 {
					t.Fatalf("up: exit %d\n%s", r.code, r.stderr)
				}
			}
			down := func(file string, extra ...string) {
				t.Helper()
				if tool == "compose" {
					if out, err := dockerCompose(t, append([]string{"-f", file, "-p", p, "down"}, extra...)...); err != nil {
						t.Fatalf("down: %v\n%s", err, out)
					}
				} else if r := infra(t, append([]string{"down", "-f", file, "-p", p}, extra...)...); r.code != 0 {
					t.Fatalf("down: exit %d\n%s", r.code, r.stderr)
				}
			}
			t.Cleanup(func() { _ = exec.Command(infractl, "down", "-p", p, "-t", "0").Run() })
			up(file)
			s, stop := watchStops(t, p)
			down(file)
			stop()
			for _, e := range edges {
				dependent, dependency := e[0], e[1]
				if s.die[dependent].IsZero() || s.term[dependency].IsZero() {
					t.Fatalf("missing events: %s died %v, %s signalled %v", dependent, s.die[dependent], dependency, s.term[dependency])
				}
				if s.term[dependency].Before(s.die[dependent]) {
					t.Errorf("%s was signalled to stop (%s) before %s, which depends on it, died (%s)", dependency, s.term[dependency].Format(time.StampMicro), dependent, s.die[dependent].Format(time.StampMicro))
				}
			}
			for _, svc := range []string{"db", "api", "worker", "web"} {
				// stop_grace_period 1s: killed about a second after the
				// signal, not after the engine's default 10 s.
				if g := s.kill[svc].Sub(s.term[svc]); s.kill[svc].IsZero() || g < 500*time.Millisecond || g > 5*time.Second {
					t.Errorf("%s: killed %v after its stop signal, want its stop_grace_period (1s)", svc, g)
				}
			}
			// -t overrides a service's grace period (60s here).
			slow := filepath.Join(dir, "slow.yaml")
			up(slow)
			s, stop = watchStops(t, p)
			down(slow, "-t", "1")
			stop()
			if g := s.kill["slow"].Sub(s.term["slow"]); s.kill["slow"].IsZero() || g > 5*time.Second {
				t.Errorf("down -t 1: slow killed %v after its stop signal, want about 1s (not its 60s grace)", g)
			}
		})
	}
}
