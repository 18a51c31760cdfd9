package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/infractl/infractl/internal/engine"
)

// LossBound is how long an engine may leave its /_ping unanswered, while a
// call is open, before infractl gives it up: every open connection is then
// closed (the calls fail at once) and no new one is made. It catches what
// an error never shows: a hung daemon, a stuck proxy, a partitioned tcp
// link, where connections stay open and nothing answers.
const LossBound = 10 * time.Second

// pingTimeout bounds one /_ping of the watchdog.
const pingTimeout = 3 * time.Second

// watchdog watches the connections of one client: while any is open it
// pings the engine every second on a connection of its own; once no ping
// answered for LossBound (or, after Ctrl-C, one ping fails), the engine is
// lost.
type watchdog struct {
	base     func(ctx context.Context, network, addr string) (net.Conn, error)
	endpoint string
	// ping asks the engine once (set once the client exists).
	ping func(ctx context.Context) error
	// bound and every are LossBound and how often to ping (tests shorten
	// them).
	bound, every time.Duration

	mu      sync.Mutex
	conns   map[*watchedConn]struct{}
	lost    error
	running bool
	hurry   bool
	stop    chan struct{}
}

func newWatchdog(endpoint string, base func(ctx context.Context, network, addr string) (net.Conn, error)) *watchdog {
	return &watchdog{base: base, endpoint: endpoint, bound: LossBound, every: time.Second, conns: map[*watchedConn]struct{}{}, stop: make(chan struct{})}
}

// lostError is what every call gets once the engine is lost.
type lostError struct{ msg string }

func (e lostError) Error() string { return e.msg }
func (e lostError) Is(t error) bool {
	return t == engine.ErrLost || t == engine.ErrEngine
}

// Lost is the loss, or nil.
func (w *watchdog) Lost() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// dial is the client's dialer: a watched connection through base.
func (w *watchdog) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := w.Lost(); err != nil {
		return nil, err
	}
	c, err := w.base(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	wc := &watchedConn{Conn: c, w: w}
	w.mu.Lock()
	w.conns[wc] = struct{}{}
	if !w.running && w.ping != nil {
		w.running = true
		go w.watch()
	}
	w.mu.Unlock()
	return wc, nil
}

// setPing gives the watchdog its way to ask the engine (once the client
// exists) and starts watching if connections are open already.
func (w *watchdog) setPing(ping func(ctx context.Context) error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ping = ping
	if !w.running && len(w.conns) > 0 {
		w.running = true
		go w.watch()
	}
}

// Hurry is called once the run is interrupted: the next ping that fails
// gives the engine up, so Ctrl-C never waits out LossBound.
func (w *watchdog) Hurry() {
	w.mu.Lock()
	w.hurry = true
	ping, watching := w.ping, w.running
	w.mu.Unlock()
	if ping == nil || !watching {
		return
	}
	// One ping of its own, now: the loop may be waiting out a slower one.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if ping(ctx) != nil && w.Lost() == nil {
			w.giveUp(w.interruptedLoss())
		}
	}()
}

// Close stops the watching.
func (w *watchdog) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

func (w *watchdog) watch() {
	lastOK := time.Now()
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		open, hurry := len(w.conns), w.hurry
		w.mu.Unlock()
		if open == 0 {
			lastOK = time.Now()
			continue
		}
		timeout := pingTimeout
		w.mu.Lock()
		ping := w.ping
		w.mu.Unlock()
		if hurry {
			timeout = time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := ping(ctx)
		cancel()
		if err == nil {
			lastOK = time.Now()
			continue
		}
		switch since := time.Since(lastOK); {
		case hurry:
			w.giveUp(w.interruptedLoss())
			return
		case since >= w.bound:
			w.giveUp(fmt.Sprintf("the Docker engine at %s stopped answering (no answer to /_ping for %s)", w.endpoint, since.Round(time.Second)))
			return
		}
	}
}

// interruptedLoss is the loss said after Ctrl-C.
func (w *watchdog) interruptedLoss() string {
	return fmt.Sprintf("the Docker engine at %s did not answer after the interruption; what it was running may still run there (infractl down removes it)", w.endpoint)
}

// giveUp marks the engine lost and closes every open connection.
func (w *watchdog) giveUp(msg string) {
	w.mu.Lock()
	w.lost = lostError{msg}
	conns := make([]*watchedConn, 0, len(w.conns))
	for c := range w.conns {
		conns = append(conns, c)
	}
	w.mu.Unlock()
	for _, c := range conns {
		_ = c.Conn.Close()
	}
}

// watchedConn is a connection the watchdog can close; once the engine is
// lost its reads and writes say so.
type watchedConn struct {
	net.Conn
	w    *watchdog
	once sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		if lost := c.w.Lost(); lost != nil {
			return n, lost
		}
	}
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		if lost := c.w.Lost(); lost != nil {
			return n, lost
		}
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.once.Do(func() {
		c.w.mu.Lock()
		delete(c.w.conns, c)
		c.w.mu.Unlock()
	})
	return c.Conn.Close()
}

// CloseWrite half-closes the connection when it can (hijacked streams).
func (c *watchedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("cannot half-close this connection")
}
