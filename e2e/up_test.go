//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/engine"
)

// TestE2EUpFailingInitBlocksDependents: an init that exits 3 has its exit
// code and log tail in the verdict, its dependents are blocked, the
// independent branch finishes, exit 1 (VAL-AUTO-002, REQ-SPC-AUTO-002).
func TestE2EUpFailingInitBlocksDependents(t *testing.T) {
	flags := project(t, "e2e-fail-init")
	r := infra(t, args("up", flags, "--format", "json")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stdout)
	}
	v := verdict(t, r.stdout)
	bad := service(t, v, "bad-init")
	if bad.ExitCode == nil || *bad.ExitCode != 3 || bad.Outcome != "failed (exit 3)" {
		t.Errorf("bad-init = %+v", bad)
	}
	if !strings.Contains(strings.Join(bad.LogTail, "\n"), "permission denied for database") {
		t.Errorf("log tail lacks the error: %q", bad.LogTail)
	}
	for _, s := range []struct{ name, by string }{{"after-bad", "bad-init"}, {"app", "after-bad"}} {
		got := service(t, v, s.name)
		if got.Outcome != "blocked by "+s.by {
			t.Errorf("%s: outcome %q, want blocked by %s", s.name, got.Outcome, s.by)
		}
	}
	if got := service(t, v, "good-init").Outcome; got != "ok" {
		t.Errorf("good-init: %q", got)
	}
	// Blocked services never started: their containers exist but never ran.
	for _, name := range []string{"after-bad", "app"} {
		id := containerIDs(t, projectName(flags))[name]
		insp, err := docker.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if insp.Container.State.StartedAt != "0001-01-01T00:00:00Z" {
			t.Errorf("%s was started at %s", name, insp.Container.State.StartedAt)
		}
	}
	// The text verdict shows the log tail too.
	r = infra(t, args("up", flags)...)
	if r.code != 1 || !strings.Contains(r.stdout, "| ERROR: permission denied for database") {
		t.Errorf("text verdict lacks the log tail:\n%s", r.stdout)
	}
}

// TestE2EUpReadinessBeatsTheHealthInterval: the backend's healthcheck runs
// every 30 s but it is ready after 2 s; infractl's probe sees it, so the
// first init starts seconds after readiness, not at Docker's next interval.
func TestE2EUpReadinessBeatsTheHealthInterval(t *testing.T) {
	flags := project(t, "chain")
	r := infra(t, args("up", flags, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	v := verdict(t, r.stdout)
	backend := service(t, v, "backend")
	if backend.ReadyBy != "probe" {
		t.Errorf("backend ready by %q, want probe", backend.ReadyBy)
	}
	ids := containerIDs(t, projectName(flags))
	b, err := docker.ContainerInspect(t.Context(), ids["backend"], client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i1, err := docker.ContainerInspect(t.Context(), ids["init-1"], client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bStart, _ := time.Parse(time.RFC3339Nano, b.Container.State.StartedAt)
	iStart, _ := time.Parse(time.RFC3339Nano, i1.Container.State.StartedAt)
	// The backend is ready 2 s after it starts (its command); Docker would
	// report healthy only after the 30 s interval.
	lag := iStart.Sub(bStart.Add(2 * time.Second))
	t.Logf("init-1 started %v after the backend was ready (Docker's health interval: 30 s)", lag)
	if lag > 10*time.Second {
		t.Errorf("init-1 started %v after the backend was ready: it waited for the health interval", lag)
	}
	if b.Container.State.Health != nil && b.Container.State.Health.Status == "healthy" {
		t.Logf("note: Docker already reports healthy")
	}
	for _, n := range []string{"init-1", "init-2", "init-3", "init-4"} {
		if got := service(t, v, n).Outcome; got != "ok" {
			t.Errorf("%s: %s", n, got)
		}
	}
}

// TestE2EUpBackendNeverHealthy: the init is blocked with the last
// healthcheck output, within the readiness timeout, exit 1.
func TestE2EUpBackendNeverHealthy(t *testing.T) {
	flags := project(t, "e2e-never-healthy")
	r := infra(t, args("up", flags, "--ready-timeout", "6s", "--format", "json")...)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	v := verdict(t, r.stdout)
	db := service(t, v, "db")
	if db.Outcome != "timed out" || !strings.Contains(db.Detail, "connection refused on port 5432") {
		t.Errorf("db = %q: %q", db.Outcome, db.Detail)
	}
	init := service(t, v, "db-init")
	if init.Outcome != "blocked by db" || !strings.Contains(init.Detail, "connection refused on port 5432") {
		t.Errorf("db-init = %q: %q", init.Outcome, init.Detail)
	}
}

// TestE2EUpRefusesBadProjectsAndCreatesNothing: a cycle, an undefined
// dependency, a missing image and an unsupported key exit 2 and leave no
// container, network or volume behind.
func TestE2EUpRefusesBadProjectsAndCreatesNothing(t *testing.T) {
	tests := []struct {
		fixture string
		want    string
	}{
		{"broken-cycle", "dependency cycle detected: a -> b -> a"},
		{"broken-undefined-dep", `service "kafka-init" depends on undefined service "kafka-9"`},
		{"e2e-missing-image", `image "infractl/does-not-exist:1.0" of service "db-init" is not present locally`},
		{"e2e-unsupported-key", `service "db" uses keys infractl cannot run yet: devices`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			flags := project(t, tt.fixture)
			r := infra(t, args("up", flags)...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "ERROR:") != 1 {
				t.Errorf("stderr = %q, want one ERROR line with %q", r.stderr, tt.want)
			}
			if c, n, v := projectResources(t, projectName(flags)); c+n+v != 0 {
				t.Errorf("left behind: %d containers, %d networks, %d volumes", c, n, v)
			}
		})
	}
}

// TestE2EUpNeverPrintsASecret: an init prints its secret on stdout and
// stderr; no output, JSON, JUnit or log file of infractl contains it
// (SEC-SPC-AUTO-001, seed 000 §9).
func TestE2EUpNeverPrintsASecret(t *testing.T) {
	secret, err := os.ReadFile(filepath.Join(fixture("e2e-secret-echo"), "password.txt"))
	if err != nil {
		t.Fatal(err)
	}
	value := strings.TrimSpace(string(secret))
	dir := t.TempDir()
	junit := filepath.Join(dir, "up.xml")
	logs := filepath.Join(dir, "logs")
	flags := project(t, "e2e-secret-echo")
	text := infra(t, args("up", flags, "--logs-dir", logs, "--junit", junit)...)
	js := infra(t, args("up", flags, "--logs-dir", logs, "--format", "json")...)
	if text.code != 1 || js.code != 1 {
		t.Fatalf("exit codes %d, %d; want 1 (the init fails)", text.code, js.code)
	}
	outputs := map[string]string{"stdout": text.stdout, "stderr": text.stderr, "json": js.stdout, "json stderr": js.stderr}
	for _, f := range []string{junit, filepath.Join(logs, "leaky-init.log")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		outputs[f] = string(b)
	}
	for name, out := range outputs {
		if strings.Contains(out, value) {
			t.Errorf("%s contains the secret", name)
		}
	}
	if !strings.Contains(outputs[filepath.Join(logs, "leaky-init.log")], "password is ***") {
		t.Errorf("the log file does not show the redacted line:\n%s", outputs[filepath.Join(logs, "leaky-init.log")])
	}
	if !strings.Contains(text.stdout, "| password is ***") {
		t.Errorf("the verdict's log tail is not redacted as expected:\n%s", text.stdout)
	}
}

// TestE2EUpInterruptStopsInits: SIGINT during a slow init exits 130 and
// leaves no init container running; the backend keeps running.
func TestE2EUpInterruptStopsInits(t *testing.T) {
	flags := project(t, "e2e-slow-init")
	cmd := exec.Command(infractl, args("up", flags)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := projectName(flags)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ids := containerIDs(t, p)
		if id, ok := ids["slow-init"]; ok {
			insp, err := docker.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
			if err == nil && insp.Container.State.Running {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("slow-init never ran\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	t.Logf("output:\n%s", out.String())
	if code != 130 {
		t.Errorf("exit %d (%v), want 130", code, err)
	}
	if !strings.Contains(out.String(), "INTERRUPTED") || !strings.Contains(out.String(), "slow-init") {
		t.Errorf("no partial verdict printed")
	}
	cs, err := projectContainers(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		svc := c.Labels[engine.LabelService]
		running := c.State == "running"
		if svc == "slow-init" && running {
			t.Errorf("slow-init is still running")
		}
		if svc == "db" && !running {
			t.Errorf("the backend was stopped; it should be left running")
		}
	}
}
