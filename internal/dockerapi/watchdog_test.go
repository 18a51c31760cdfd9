package dockerapi

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
)

// silent accepts connections and never answers.
func silent(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	return l.Addr().String()
}

func silentWatchdog(t *testing.T, bound time.Duration, answers bool) (*watchdog, net.Conn) {
	t.Helper()
	addr := silent(t)
	var d net.Dialer
	w := newWatchdog("tcp://"+addr, func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) })
	w.bound, w.every = bound, 20*time.Millisecond
	w.setPing(func(ctx context.Context) error {
		if answers {
			return nil
		}
		<-ctx.Done()
		return ctx.Err()
	})
	t.Cleanup(w.Close)
	c, err := w.dial(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return w, c
}

// A call on an engine that never answers fails once the engine is given
// up, and so does every later dial.
func TestWatchdogGivesUpASilentEngine(t *testing.T) {
	w, c := silentWatchdog(t, 200*time.Millisecond, false)
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, engine.ErrLost) || !errors.Is(err, engine.ErrEngine) || !strings.Contains(err.Error(), "stopped answering") {
		t.Fatalf("read: %v, want the engine lost", err)
	}
	if _, err := w.dial(t.Context(), "tcp", "x"); !errors.Is(err, engine.ErrLost) {
		t.Fatalf("dial after the loss: %v", err)
	}
}

// After Ctrl-C the first missed ping gives the engine up, not the bound.
func TestWatchdogHurriesAfterAnInterruption(t *testing.T) {
	w, c := silentWatchdog(t, time.Hour, false)
	w.Hurry()
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, engine.ErrLost) || !strings.Contains(err.Error(), "after the interruption") {
		t.Fatalf("read: %v, want the engine given up after the interruption", err)
	}
}

// An engine that answers its pings is never given up, however long a call
// waits (an event stream with nothing to say).
func TestWatchdogKeepsAnEngineThatAnswers(t *testing.T) {
	w, c := silentWatchdog(t, 100*time.Millisecond, true)
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("read ended: %v", err)
	case <-time.After(time.Second): // ten bounds
	}
	if w.Lost() != nil {
		t.Fatal(w.Lost())
	}
	c.Close()
}
