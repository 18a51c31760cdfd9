//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
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
	if err != nil || len(dirs) < 40 {
		t.Fatalf("%d fault cases (want at least 40): %v", len(dirs), err)
	}
	sort.Strings(dirs)
	clean := 0
	for _, dir := range dirs {
		c := readFaultCase(t, dir)
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			p := "faults-" + c.name
			if len(p) > 50 {
				p = p[:50]
			}
			args := append(strings.Fields(c.args), "-p", p)
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
			cmd := exec.Command(infractl, args...)
			cmd.Dir = work
			cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), c.env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := 0
			var err error
			if c.signal == "" {
				err = cmd.Run()
			} else {
				err = runAndSignal(t, cmd, p, c)
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
			if c.exit == 2 || c.exit == 3 {
				if n := strings.Count("\n"+stderr.String(), "\nERROR: "); n != 1 {
					ok = false
					t.Errorf("%s: %d ERROR lines, want one:\n%s", c.what, n, stderr.String())
				}
				if !c.created && (c.exit == 2 || !strings.Contains(strings.Join(c.env, " "), "DOCKER_HOST")) {
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
func runAndSignal(t *testing.T, cmd *exec.Cmd, p string, c faultCase) error {
	t.Helper()
	sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM}[c.signal]
	if sig == 0 || c.signalWhen == "" {
		t.Fatalf("signal %q when %q: want INT or TERM, and a container", c.signal, c.signalWhen)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	give := time.After(2 * time.Minute)
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
