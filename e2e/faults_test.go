//go:build e2e

package e2e

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/lock"
)

// faultCase is testdata/faults/<name>/case.txt: the command, its expected
// exit code, what its output must and must not say, and optional setup
// and teardown (a shell command, or "down").
type faultCase struct {
	name, what, args, setup, teardown string
	exit                              int
	env, out, noout                   []string
	// created: the run itself happened (exit 2 came after it, e.g. an
	// output that cannot be written), so the project's things exist.
	created bool
	// signal (INT, TERM) is sent once a container of the project whose
	// service is signalWhen, or whose name ends in -<signalWhen> (a hook
	// runner), runs; afterwards exactly the services in running run.
	signal, signalWhen string
	running            []string
	// signalOn sends the signal once stderr shows this text instead.
	signalOn string
	// lock: "hold" (the test holds the project's lock while the case
	// runs) or "link" (a link to a file of the test's is planted where the
	// lock file goes; the file must be left as it was).
	lock string
	// projectLen, when set, makes the project name that long.
	projectLen int
	// endpoint "silent": DOCKER_HOST is a socket that accepts connections
	// and never answers.
	endpoint string
	// loki "silent" (accepts, never answers) or "endless" (answers a
	// query with a body that never ends): $LOKI is its host:port.
	loki string
	// user "nobody" runs infractl as uid/gid 65534.
	user string
	// noimage: images that must not exist afterwards ($P: the project).
	noimage []string
	// nofile: globs that must match nothing afterwards ($WORK: the case's
	// folder), such as a temporary file left behind.
	nofile []string
}

func readFaultCase(t *testing.T, dir string) faultCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "case.txt"))
	if err != nil {
		t.Fatal(err)
	}
	c := faultCase{name: filepath.Base(dir)}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "# ") {
			c.what = l[2:]
			continue
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		switch k {
		case "args":
			c.args = v
		case "exit":
			c.exit, _ = strconv.Atoi(v)
		case "env":
			c.env = append(c.env, v)
		case "out":
			c.out = append(c.out, v)
		case "noout":
			c.noout = append(c.noout, v)
		case "setup":
			c.setup = v
		case "teardown":
			c.teardown = v
		case "created":
			c.created = v == "yes"
		case "signal":
			c.signal = v
		case "signal-when":
			c.signalWhen = v
		case "running":
			c.running = strings.Fields(v)
		case "signal-on":
			c.signalOn = v
		case "lock":
			c.lock = v
		case "project-len":
			c.projectLen, _ = strconv.Atoi(v)
		case "endpoint":
			c.endpoint = v
		case "loki":
			c.loki = v
		case "user":
			c.user = v
		case "noimage":
			c.noimage = append(c.noimage, v)
		case "nofile":
			c.nofile = append(c.nofile, v)
		case "out-q", "noout-q":
			// A Go-quoted string: bytes a text file cannot show (escapes).
			u, err := strconv.Unquote(v)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", dir, k, v, err)
			}
			if k == "out-q" {
				c.out = append(c.out, u)
			} else {
				c.noout = append(c.noout, u)
			}
		}
	}
	return c
}

// TestE2EFaults runs every case of testdata/faults against the real
// engine: the exit code, the one-line cause (exit 2 and 3), what the
// output must say and must never say (secrets), and that a refused run
// (exit 2 or 3) created nothing.
func TestE2EFaults(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repo, "testdata", "faults", "*"))
	if err != nil || len(dirs) < 85 {
		t.Fatalf("%d fault cases (want at least 85): %v", len(dirs), err)
	}
	sort.Strings(dirs)
	clean := 0
	for _, dir := range dirs {
		c := readFaultCase(t, dir)
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			if c.user != "" {
				// Another user must reach the files and the binary.
				var err error
				if work, err = os.MkdirTemp("", "infractl-fault-"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(work) })
				for _, d := range []string{work, filepath.Dir(infractl)} {
					if err := os.Chmod(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			p := "faults-" + c.name
			if len(p) > 50 {
				p = p[:50]
			}
			if c.projectLen > 0 {
				p = (p + strings.Repeat("x", c.projectLen))[:c.projectLen]
			}
			vars := map[string]string{"$WORK": work, "$P": p, "$INFRACTL": infractl}
			env := slices.Clone(c.env)
			if c.endpoint == "silent" {
				sock := filepath.Join(work, "silent.sock")
				silentListener(t, "unix", sock)
				env = append(env, "DOCKER_HOST=unix://"+sock)
			}
			switch c.loki {
			case "silent":
				vars["$LOKI"] = silentListener(t, "tcp", "127.0.0.1:0")
			case "endless":
				vars["$LOKI"] = endlessLoki(t)
			}
			expand := func(s string) string {
				for _, k := range []string{"$WORK", "$INFRACTL", "$LOKI", "$P"} {
					s = strings.ReplaceAll(s, k, vars[k])
				}
				return s
			}
			for i := range env {
				env[i] = expand(env[i])
			}
			c.setup, c.teardown = expand(c.setup), expand(c.teardown)
			for i := range c.out {
				c.out[i] = expand(c.out[i])
			}
			args := append(strings.Fields(expand(c.args)), "-p", p)
			file := filepath.Join(work, "compose.yaml")
			if _, err := os.Stat(file); err == nil {
				args = append(args, "-f", file)
			}
			if c.setup != "" {
				if out, err := exec.Command("sh", "-c", c.setup).CombinedOutput(); err != nil {
					t.Fatalf("setup: %v\n%s", err, out)
				}
			}
			t.Cleanup(func() {
				switch c.teardown {
				case "":
				case "down":
					cmd := exec.Command(infractl, "down", "-v", "-p", p)
					cmd.Dir = work
					_ = cmd.Run()
				default:
					_ = exec.Command("sh", "-c", c.teardown).Run()
				}
			})
			victim := ""
			switch c.lock {
			case "hold":
				release, err := lock.Acquire(lock.Dir(os.Getenv), engineID(t), docker.DaemonHost(), p, "e2e-holder")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(release)
			case "link":
				dir := lock.Dir(os.Getenv)
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				victim = filepath.Join(work, "victim")
				if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				link := lock.Path(dir, engineID(t), p)
				if err := os.Symlink(victim, link); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Remove(link) })
			}
			cmd := exec.Command(infractl, args...)
			cmd.Dir = work
			cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
			if c.user == "nobody" {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			}
			var stdout strings.Builder
			stderr := &lockedBuilder{}
			cmd.Stdout, cmd.Stderr = &stdout, stderr
			code := 0
			var err error
			if c.signal == "" {
				err = cmd.Run()
			} else {
				err = runAndSignal(t, cmd, p, c, stderr)
			}
			if err != nil {
				ee, ok := err.(*exec.ExitError)
				if !ok {
					t.Fatal(err)
				}
				code = ee.ExitCode()
			}
			all := stdout.String() + stderr.String()
			ok := true
			if code != c.exit {
				ok = false
				t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", c.what, code, c.exit, stdout.String(), stderr.String())
			}
			for _, o := range c.out {
				if !strings.Contains(all, o) {
					ok = false
					t.Errorf("%s: output lacks %q:\n%s", c.what, o, all)
				}
			}
			for _, o := range c.noout {
				if strings.Contains(all, o) {
					ok = false
					t.Errorf("%s: output shows %q", c.what, o)
				}
			}
			if victim != "" {
				if b, err := os.ReadFile(victim); err != nil || string(b) != "precious\n" {
					ok = false
					t.Errorf("%s: the file the planted link points at changed: %q (%v)", c.what, b, err)
				}
			}
			for _, img := range c.noimage {
				if _, err := docker.ImageInspect(t.Context(), expand(img)); err == nil {
					ok = false
					t.Errorf("%s: image %s exists: nothing should have been built", c.what, expand(img))
				}
			}
			for _, g := range c.nofile {
				if left, _ := filepath.Glob(expand(g)); len(left) > 0 {
					ok = false
					t.Errorf("%s: left behind: %v", c.what, left)
				}
			}
			if c.exit == 2 || c.exit == 3 || c.exit == 4 {
				if n := strings.Count("\n"+stderr.String(), "\nERROR: "); n != 1 {
					ok = false
					t.Errorf("%s: %d ERROR lines, want one:\n%s", c.what, n, stderr.String())
				}
				if !c.created && (c.exit != 3 || !strings.Contains(strings.Join(env, " "), "DOCKER_HOST")) {
					if cs, ns, vs := projectResources(t, p); cs+ns+vs != 0 {
						ok = false
						t.Errorf("%s: a refused run left %d containers, %d networks, %d volumes", c.what, cs, ns, vs)
					}
				}
			}
			if c.signal != "" {
				if got := runningServices(t, p); strings.Join(got, " ") != strings.Join(c.running, " ") {
					ok = false
					t.Errorf("%s: running afterwards %v, want %v (inits and hooks stopped, backends left)", c.what, got, c.running)
				}
			}
			if ok {
				clean++
			}
		})
	}
	t.Logf("fault cases: %d, clean: %d", len(dirs), clean)
}

// runAndSignal starts cmd, waits until the container the case names runs
// (seen by the test's own client), sends the signal and waits for the end.
func runAndSignal(t *testing.T, cmd *exec.Cmd, p string, c faultCase, stderr *lockedBuilder) error {
	t.Helper()
	sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP}[c.signal]
	if sig == 0 || c.signalWhen == "" && c.signalOn == "" {
		t.Fatalf("signal %q when %q: want INT, TERM or HUP, and a container or a text", c.signal, c.signalWhen)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	give := time.After(2 * time.Minute)
	for c.signalOn != "" {
		if strings.Contains(stderr.String(), c.signalOn) {
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			return <-exited
		}
		select {
		case err := <-exited:
			t.Fatalf("%s: ended (%v) before it printed %q:\n%s", c.what, err, c.signalOn, stderr.String())
		case <-give:
			_ = cmd.Process.Kill()
			t.Fatalf("%s: never printed %q", c.what, c.signalOn)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for {
		cs, err := projectContainers(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range cs {
			name := strings.TrimPrefix(ct.Names[0], "/")
			if ct.State == "running" && (ct.Labels[engine.LabelService] == c.signalWhen && ct.Labels[engine.LabelHook] == "" || strings.HasSuffix(name, "-"+c.signalWhen)) {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				return <-exited
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("%s: ended (%v) before %s ran", c.what, err, c.signalWhen)
		case <-give:
			_ = cmd.Process.Kill()
			t.Fatalf("%s: %s never ran", c.what, c.signalWhen)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runningServices are the services of the project with a running
// container (hook runners count as their service), sorted.
func runningServices(t *testing.T, p string) []string {
	t.Helper()
	cs, err := projectContainers(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		if c.State == "running" {
			out = append(out, c.Labels[engine.LabelService])
		}
	}
	sort.Strings(out)
	return out
}

// lockedBuilder is a strings.Builder a running command writes to while the
// test reads it.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// engineID is the engine's ID, as infractl keys its locks.
func engineID(t *testing.T) string {
	t.Helper()
	info, err := docker.Info(t.Context(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info.Info.ID
}

// silentListener accepts connections on addr and never answers (a hung
// daemon, a stuck proxy); it returns the address it listens on.
func silentListener(t *testing.T, network, addr string) string {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// endlessLoki is an HTTP server whose answer to a Loki query never ends
// (until the client hangs up); it returns its host:port.
func endlessLoki(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[`)
		entry := `["1","` + strings.Repeat("x", 4000) + `"],`
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, entry); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
