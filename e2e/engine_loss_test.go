//go:build e2e

package e2e

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
)

// pausingProxy forwards a unix socket to the engine's. Paused, it stops
// every byte both ways and answers no new connection, but keeps every
// connection open: a hung daemon, a stuck proxy, a partitioned link.
type pausingProxy struct {
	sock   string
	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	conns  []net.Conn
}

func startPausingProxy(t *testing.T) *pausingProxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "infractl-proxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &pausingProxy{sock: filepath.Join(dir, "engine.sock")}
	p.cond = sync.NewCond(&p.mu)
	l, err := net.Listen("unix", p.sock)
	if err != nil {
		t.Fatal(err)
	}
	target := strings.TrimPrefix(docker.DaemonHost(), "unix://")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.Resume()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

func (p *pausingProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.paused {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == io.EOF {
				_ = cw.CloseWrite()
			}
			return
		}
	}
}

// Pause stops every byte; Resume lets them through again.
func (p *pausingProxy) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

func (p *pausingProxy) Resume() {
	p.mu.Lock()
	p.paused = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// lossStack: a healthy backend and an init that runs as long as
// INIT_SLEEP says.
const lossStack = `
services:
  db:
    image: infractl/toolbox:latest
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    healthcheck: {test: ["CMD", "true"], interval: 1s}
  db-init:
    image: infractl/toolbox:latest
    restart: "no"
    command: ["sh", "-c", "echo provisioning; sleep ${INIT_SLEEP:-0}"]
    stop_signal: SIGKILL
    depends_on: {db: {condition: service_healthy}}
`

// runUntil starts infractl with env, waits until a running container of
// the project's db-init that is not in skip exists (seen through the
// engine's own socket), then pauses the proxy and, if sig is set, sends
// it a second later. It returns the exit code and stderr; a run that does
// not end within two minutes is a hang and fails the test.
func runUntil(t *testing.T, proxy *pausingProxy, p string, env []string, sig syscall.Signal, skip string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(infractl, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "DOCKER_HOST=unix://"+proxy.sock), env...)
	stderr := &lockedBuilder{}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	paused := time.Time{}
	for paused.IsZero() {
		cs, err := projectContainers(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Labels[engine.LabelService] == "db-init" && c.State == "running" && c.ID != skip {
				proxy.Pause()
				paused = time.Now()
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("infractl ended before db-init ran (%v):\n%s", err, stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("db-init never ran:\n%s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if sig != 0 {
		time.Sleep(time.Second)
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-exited:
		t.Logf("ended %.1f s after the engine stopped answering", time.Since(paused).Seconds())
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stderr.String()
	case <-deadline:
		_ = cmd.Process.Kill()
		t.Fatalf("infractl still runs two minutes after the engine stopped answering:\n%s", stderr.String())
	}
	return 0, ""
}

// TestE2EEngineStopsAnswering: an engine that stops answering (a proxy the
// test pauses: connections stay open, no byte passes) ends `up` with exit
// 3 naming the endpoint, within the documented bound (the watchdog's 10 s
// without an answer to /_ping); Ctrl-C ends it at once (the next missed
// ping, not the bound), and SIGHUP behaves as SIGTERM and Ctrl-C; the
// engine lost during `verify --rerun` is exit 3 naming the endpoint too.
func TestE2EEngineStopsAnswering(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(lossStack), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		code int
		want string
	}{
		{"the engine is given up after the bound", 0, 3, "stopped answering (no answer to /_ping for 1"},
		{"Ctrl-C ends it at once", syscall.SIGINT, 130, "did not answer after the interruption"},
		{"SIGTERM ends it at once", syscall.SIGTERM, 130, "did not answer after the interruption"},
		{"SIGHUP behaves as SIGTERM", syscall.SIGHUP, 130, "did not answer after the interruption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := "loss-" + strings.ToLower(strings.Fields(tc.name)[0]) + "-" + map[syscall.Signal]string{0: "none", syscall.SIGINT: "int", syscall.SIGTERM: "term", syscall.SIGHUP: "hup"}[tc.sig]
			proxy := startPausingProxy(t)
			t.Cleanup(func() {
				_ = exec.Command(infractl, "down", "-v", "-p", p).Run()
			})
			code, stderr := runUntil(t, proxy, p, []string{"INIT_SLEEP=600"}, tc.sig, "", "up", "-f", file, "-p", p)
			if code != tc.code || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, proxy.sock) {
				t.Errorf("exit %d, want %d, with %q naming %s:\n%s", code, tc.code, tc.want, proxy.sock, stderr)
			}
			if tc.code == 3 && strings.Count(stderr, "ERROR: ") != 1 {
				t.Errorf("want one ERROR line:\n%s", stderr)
			}
		})
	}
	t.Run("verify --rerun", func(t *testing.T) {
		p := "loss-verify-rerun"
		t.Cleanup(func() {
			_ = exec.Command(infractl, "down", "-v", "-p", p).Run()
		})
		if r := infra(t, "up", "-f", file, "-p", p); r.code != 0 {
			t.Fatalf("up: exit %d\n%s", r.code, r.stderr)
		}
		first := containerIDs(t, p)["db-init"]
		proxy := startPausingProxy(t)
		code, stderr := runUntil(t, proxy, p, []string{"INIT_SLEEP=600"}, 0, first, "verify", "--rerun", "-f", file, "-p", p)
		if code != 3 || !strings.Contains(stderr, "stopped answering") || !strings.Contains(stderr, proxy.sock) {
			t.Errorf("exit %d, want 3 naming %s:\n%s", code, proxy.sock, stderr)
		}
	})
}
