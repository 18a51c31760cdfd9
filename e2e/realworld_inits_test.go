//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// TestE2EUpJudgesRealWorldInitsByWhatHappens runs inits as real stacks
// write them (testdata/compose/e2e-real-world-inits): a no-restart-key init
// with a short-form depends_on, a restart: on-failure init that fails twice
// and then succeeds, and an image-only init nothing in the file marks as
// one. up reports each as a one-shot with its exit code, the retries, and
// where the role came from; the engine's own restart count agrees.
func TestE2EUpJudgesRealWorldInitsByWhatHappens(t *testing.T) {
	build := exec.Command("docker", "build", "-q", "-t", "infractl-e2e/schema-loader:latest", fixture("e2e-real-world-inits")+"/migrator")
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the image-only init: %v\n%s", err, out)
	}
	flags := project(t, "e2e-real-world-inits")
	r := infra(t, args("up", flags, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stdout)
	}
	v := verdict(t, r.stdout)
	for _, want := range []struct {
		name     string
		observed bool
		retries  int
		log      string
	}{
		{"createbuckets", false, 0, "created bucket uploads"},
		{"migrate", false, 2, "run 3: migrated"},
		{"schema", true, 0, "schema applied"},
	} {
		s := service(t, v, want.name)
		if s.Role != "init" || s.RoleObserved != want.observed || s.Retries != want.retries || s.Outcome != "ok" || s.ExitCode == nil || *s.ExitCode != 0 {
			t.Errorf("%s: role %s observed=%v, %s exit %v, %d retries; want init observed=%v, ok exit 0, %d retries",
				want.name, s.Role, s.RoleObserved, s.Outcome, s.ExitCode, s.Retries, want.observed, want.retries)
		}
		if logs, err := os.ReadFile(s.LogFile); err != nil || !strings.Contains(string(logs), want.log) {
			t.Errorf("%s: its log %q lacks %q (%v):\n%s", want.name, s.LogFile, want.log, err, logs)
		}
	}
	// The engine, asked independently, restarted migrate twice.
	id := containerIDs(t, projectName(flags))["migrate"]
	insp, err := docker.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if insp.Container.RestartCount != 2 || insp.Container.State.ExitCode != 0 {
		t.Errorf("engine: migrate restarted %d times, exit %d; want 2 and 0", insp.Container.RestartCount, insp.Container.State.ExitCode)
	}
	// The text verdict marks the observed role and counts the retries.
	r = infra(t, args("up", flags)...)
	for _, want := range []string{"init*", "ok (2 retries)", "* role observed"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("text verdict (exit %d) lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
}

// TestE2EUpKeepsTheLogOfATTYInit: an init with tty: true has one raw log
// stream; its log is kept (and redacted) like any other.
func TestE2EUpKeepsTheLogOfATTYInit(t *testing.T) {
	dir := t.TempDir()
	yaml := `services:
  seed:
    image: infractl/toolbox:latest
    restart: "no"
    tty: true
    labels: {infractl.role: init}
    environment:
      SEED_PASSWORD: tty-s3cr3t-value
    command: ["sh", "-c", "echo seeding with $$SEED_PASSWORD; echo seeded"]
`
	file := dir + "/compose.yaml"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-f", file, "-p", "e2e-tty-init"}
	down(t, flags)
	t.Cleanup(func() { down(t, flags) })
	r := infra(t, args("up", flags, "--format", "json", "--logs-dir", dir+"/logs")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	s := service(t, verdict(t, r.stdout), "seed")
	logs, err := os.ReadFile(s.LogFile)
	if err != nil {
		t.Fatalf("no log file for a tty init: %v", err)
	}
	if !strings.Contains(string(logs), "seeded") || !strings.Contains(string(logs), "seeding with ***") || strings.Contains(string(logs)+r.stdout+r.stderr, "tty-s3cr3t-value") {
		t.Errorf("log of the tty init:\n%s", logs)
	}
}

// TestE2EHungProbesAreKilled: a backend whose healthcheck hangs: infractl's
// probes time out (1 s) and are killed inside the backend, as Docker kills
// its own healthcheck; after 8 s of probing every 250 ms, no more than a
// few probe processes remain (one in flight, Docker's own).
func TestE2EHungProbesAreKilled(t *testing.T) {
	dir := t.TempDir()
	yaml := `services:
  db:
    image: infractl/toolbox:latest
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    healthcheck: {test: ["CMD", "sleep", "300"], interval: 30s, timeout: 1s}
  db-init:
    image: infractl/toolbox:latest
    restart: "no"
    command: ["true"]
    depends_on: {db: {condition: service_healthy}}
`
	file := dir + "/compose.yaml"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-f", file, "-p", "e2e-hung-probes"}
	down(t, flags)
	t.Cleanup(func() { down(t, flags) })
	r := infra(t, args("up", flags, "--ready-timeout", "8s")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (db never ready)\n%s", r.code, r.stdout)
	}
	out, err := exec.Command("docker", "top", "e2e-hung-probes-db-1", "-o", "pid,args").Output()
	if err != nil {
		t.Fatal(err)
	}
	sleeps := strings.Count(string(out), "sleep 300")
	if sleeps > 2 {
		t.Errorf("%d hung probe processes left in the backend (Docker keeps at most one of its own):\n%s", sleeps, out)
	}
}
