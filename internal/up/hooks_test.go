package up_test

import (
	"strings"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/up"
)

const hooks = `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  app:
    image: app
    pre_start:
      - command: ["migrate"]
      - command: ["seed"]
    depends_on: {db: {condition: service_healthy}}
  web:
    image: web
    depends_on: {app: {condition: service_started}}
`

func hookBehaviors(second memengine.Behavior) map[string]memengine.Behavior {
	return map[string]memengine.Behavior{
		"db":               {Healthcheck: true, HealthyAfter: time.Second},
		"app/pre_start[0]": {ExitAfter: time.Second, Logs: "migrated\n"},
		"app/pre_start[1]": second,
		"app":              {},
		"web":              {},
	}
}

func verdictOf(v report.Verdict) map[string]report.ServiceVerdict {
	got := map[string]report.ServiceVerdict{}
	for _, s := range v.Services {
		got[s.Name] = s
	}
	return got
}

// Hooks run after their service's dependencies, one at a time in order,
// and the service starts after the last one exited 0.
func TestUpRunsHooksInOrderBeforeTheirService(t *testing.T) {
	m := memengine.LoadYAML(t, "p", hooks)
	e := memengine.New(t0, hookBehaviors(memengine.Behavior{ExitAfter: time.Second, Logs: "seeded\n"}))
	v, err := runUp(t, e, m)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("verdict failed: %+v", v.Services)
	}
	if got, want := strings.Join(e.Order(), " "), "db app/pre_start[0] app/pre_start[1] app web"; got != want {
		t.Errorf("start order %q, want %q", got, want)
	}
	got := verdictOf(v)
	for _, n := range []string{"app/pre_start[0]", "app/pre_start[1]"} {
		s := got[n]
		if s.Role != "init" || s.Outcome != "ok" || s.ExitCode == nil || *s.ExitCode != 0 || s.LogFile == "" {
			t.Errorf("%s: %+v", n, s)
		}
	}
	if c := got["app/pre_start[0]"].Container; c != "p-app-pre_start-0" {
		t.Errorf("hook runner named %q, want compose's p-app-pre_start-0", c)
	}
}

// A failing second hook fails its service after the first ran: the
// service is left created, what depends on it is blocked, and the verdict
// names the hook with its exit code and log.
func TestUpFailingHookLeavesItsServiceCreated(t *testing.T) {
	m := memengine.LoadYAML(t, "p", hooks)
	e := memengine.New(t0, hookBehaviors(memengine.Behavior{ExitAfter: time.Second, ExitCode: 4, Logs: "seed: relation missing\n"}))
	v, err := runUp(t, e, m)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK {
		t.Fatal("verdict OK with a failed hook")
	}
	got := verdictOf(v)
	if s := got["app/pre_start[1]"]; s.Outcome != "failed (exit 4)" || !strings.Contains(strings.Join(s.LogTail, "\n"), "relation missing") {
		t.Errorf("app/pre_start[1]: %+v", s)
	}
	if s := got["app/pre_start[0]"]; s.Outcome != "ok" {
		t.Errorf("app/pre_start[0]: %+v", s)
	}
	if s := got["app"]; s.Outcome != "blocked by app/pre_start[1]" {
		t.Errorf("app: %q", s.Outcome)
	}
	if s := got["web"]; s.Outcome != "blocked by app" {
		t.Errorf("web: %q", s.Outcome)
	}
	if c, ok := e.Lookup("p-app-1"); !ok || c.State.Running || c.State.Exited {
		t.Errorf("app container %+v, want created and never started", c.State)
	}
	var msg string
	for _, c := range v.Checks {
		for _, r := range c.Results {
			if c.ID == report.ReqInitExit && r.Service == "app/pre_start[1]" {
				msg = r.Message
			}
		}
	}
	if msg != "failed (exit 4)" {
		t.Errorf("%s for app/pre_start[1]: %q", report.ReqInitExit, msg)
	}
}

// A second up of an unchanged, running service keeps its container and
// does not run its hooks again.
func TestUpDoesNotRerunHooksOfAKeptService(t *testing.T) {
	m := memengine.LoadYAML(t, "p", hooks)
	e := memengine.New(t0, hookBehaviors(memengine.Behavior{ExitAfter: time.Second}))
	if v, err := runUp(t, e, m); err != nil || !v.OK {
		t.Fatalf("first up: %v %+v", err, v.Services)
	}
	first := len(e.Order())
	v, err := runUp(t, e, m)
	if err != nil || !v.OK {
		t.Fatalf("second up: %v %+v", err, v.Services)
	}
	if again := e.Order()[first:]; strings.Contains(strings.Join(again, " "), "pre_start") || strings.Contains(" "+strings.Join(again, " ")+" ", " app ") {
		t.Errorf("second up started %v; want app kept and its hooks not run", again)
	}
	got := verdictOf(v)
	if s := got["app/pre_start[0]"]; s.Outcome != "ok" || !s.Reused || !strings.Contains(s.Detail, "not run") {
		t.Errorf("app/pre_start[0] on the second up: %+v", s)
	}
}

const replicated = `
services:
  api:
    image: app
    deploy: {replicas: 2}
    pre_start:
      - command: ["migrate"]
  edge:
    image: web
    depends_on: {api: {condition: service_started}}
`

// deploy.replicas: 2 runs the hook once, then starts two containers named
// as compose names them; what depends on the service waits for both.
func TestUpReplicasRunTheHookOnce(t *testing.T) {
	m := memengine.LoadYAML(t, "p", replicated)
	e := memengine.New(t0, map[string]memengine.Behavior{
		"api/pre_start[0]": {ExitAfter: time.Second},
		"api":              {},
		"edge":             {},
	})
	v, err := runUp(t, e, m)
	if err != nil || !v.OK {
		t.Fatalf("up: %v %+v", err, v.Services)
	}
	if got, want := strings.Join(e.Order(), " "), "api/pre_start[0] api api edge"; got != want {
		t.Errorf("start order %q, want %q", got, want)
	}
	for _, n := range []string{"p-api-1", "p-api-2"} {
		if c, ok := e.Lookup(n); !ok || !c.State.Running || c.Labels["com.docker.compose.container-number"] != n[len(n)-1:] {
			t.Errorf("%s: %+v", n, c)
		}
	}
	got := verdictOf(v)
	if s := got["api#2"]; s.Outcome != "ok" || s.Container != "p-api-2" {
		t.Errorf("api#2: %+v", s)
	}
}

// --no-recreate keeps a stopped container and starts it again; its hooks
// run before that start (none of its containers runs).
func TestUpNoRecreateStartsAStoppedContainer(t *testing.T) {
	m := memengine.LoadYAML(t, "p", hooks)
	e := memengine.New(t0, hookBehaviors(memengine.Behavior{ExitAfter: time.Second}))
	if v, err := runUp(t, e, m); err != nil || !v.OK {
		t.Fatalf("first up: %v %+v", err, v.Services)
	}
	before, _ := e.Lookup("p-app-1")
	e.SetState("p-app-1", exitedState(0))
	first := len(e.Order())
	var v report.Verdict
	var err error
	opts := up.Options{MaxInitSeconds: 60, LogsDir: t.TempDir(), Clock: e.Clock, NoRecreate: true}
	if !e.Drive(2*time.Second, 30*time.Minute, func(idle func(int)) {
		opts.Idle = idle
		v, err = up.Run(t.Context(), e, m, opts)
	}) {
		t.Fatal("up did not finish")
	}
	if err != nil || !v.OK {
		t.Fatalf("up --no-recreate: %v %+v", err, v.Services)
	}
	after, _ := e.Lookup("p-app-1")
	if after.ID != before.ID || !after.State.Running {
		t.Errorf("app %s (%+v), was %s: want the same container, running", after.ID, after.State, before.ID)
	}
	if got := strings.Join(e.Order()[first:], " "); !strings.Contains(got, "app/pre_start[0] app/pre_start[1] app") {
		t.Errorf("second up started %q; want the hooks, then app", got)
	}
}

func exitedState(code int) engine.State {
	return engine.State{Exited: true, ExitCode: code, StartedAt: t0, FinishedAt: t0}
}

// A service named like a hook's log file and the hook write two files
// (#25 item 17): '+' is not allowed in a service name.
func TestLogFileNamesNeverCollide(t *testing.T) {
	names := map[string]string{}
	for _, n := range []string{"app/pre_start[0]", "app-pre_start-0", "app-pre_start-0#2", "app#2", "app.pre_start.0"} {
		f := up.LogFileName(n)
		if other, ok := names[f]; ok {
			t.Errorf("%s and %s both log to %s", n, other, f)
		}
		names[f] = n
	}
	if got := up.LogFileName("app/pre_start[0]"); got != "app+pre_start-0.log" {
		t.Errorf("hook log file %s", got)
	}
}
