package up_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/up"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const stack = `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  init:
    image: tool
    restart: "no"
    depends_on: {db: {condition: service_healthy}}
  app:
    image: app
    depends_on: {init: {condition: service_completed_successfully}}
`

func behaviors() map[string]memengine.Behavior {
	return map[string]memengine.Behavior{
		"db":   {Healthcheck: true, HealthyAfter: time.Second},
		"init": {ExitAfter: time.Second, Logs: "created\n"},
		"app":  {},
	}
}

// runUp runs infractl up on the in-memory engine, driving its clock.
func runUp(t *testing.T, e *memengine.Engine, m *compose.Model) (report.Verdict, error) {
	t.Helper()
	return runUpWith(t, e, m, nil)
}

func runUpWith(t *testing.T, e *memengine.Engine, m *compose.Model, warnings io.Writer) (report.Verdict, error) {
	t.Helper()
	var v report.Verdict
	var err error
	opts := up.Options{MaxInitSeconds: 60, LogsDir: t.TempDir(), Clock: e.Clock, Warnings: warnings}
	if !e.Drive(2*time.Second, 30*time.Minute, func(idle func(int)) {
		opts.Idle = idle
		v, err = up.Run(t.Context(), e, m, opts)
	}) {
		t.Fatal("up did not finish")
	}
	return v, err
}

func outcomes(v report.Verdict) map[string]report.ServiceVerdict {
	out := map[string]report.ServiceVerdict{}
	for _, s := range v.Services {
		out[s.Name] = s
	}
	return out
}

func TestUpKeepsUnchangedBackendsAndRerunsInits(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	e := memengine.New(t0, behaviors())
	v, err := runUp(t, e, m)
	if err != nil || !v.OK {
		t.Fatalf("first up: ok=%v err=%v %+v", v.OK, err, v.Services)
	}
	db1, _ := e.Lookup("p-db-1")
	init1, _ := e.Lookup("p-init-1")

	v, err = runUp(t, e, m)
	if err != nil || !v.OK {
		t.Fatalf("second up: ok=%v err=%v %+v", v.OK, err, v.Services)
	}
	got := outcomes(v)
	if !got["db"].Reused {
		t.Error("db was not kept though it runs unchanged")
	}
	if got["init"].Reused {
		t.Error("init was kept; inits run fresh every time")
	}
	if db2, _ := e.Lookup("p-db-1"); db2.ID != db1.ID {
		t.Error("db was recreated")
	}
	if init2, _ := e.Lookup("p-init-1"); init2.ID == init1.ID {
		t.Error("init ran in the same container")
	}

	// A changed backend is recreated.
	m2 := memengine.LoadYAML(t, "p", stack+"    environment: {CHANGED: \"1\"}\n")
	if _, err := runUp(t, e, m2); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(v); got["app"].Outcome != "ok" {
		t.Errorf("app: %q", got["app"].Outcome)
	}
	if app, _ := e.Lookup("p-app-1"); app.Labels[engine.LabelConfigHash] == "" {
		t.Error("the recreated app has no config hash")
	}
}

func TestUpRefusesAContainerItDoesNotOwn(t *testing.T) {
	for _, owner := range []map[string]string{
		{},                            // made by hand
		{engine.LabelProject: "shop"}, // another project's
	} {
		m := memengine.LoadYAML(t, "p", stack)
		e := memengine.New(t0, behaviors())
		foreign := e.Run("p-db-1", "db", owner, true, 0)
		_, err := runUp(t, e, m)
		if !errors.Is(err, compose.ErrInvalidProject) || !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("err = %v, want a conflict (exit 2)", err)
		}
		c, ok := e.Lookup("p-db-1")
		if !ok || c.ID != foreign || !c.State.Running {
			t.Errorf("the foreign container was touched: %+v", c)
		}
	}
}

func TestUpEndsWithAnEngineErrorWhenTheEngineIsLost(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	b := behaviors()
	b["init"] = memengine.Behavior{ExitAfter: time.Hour}
	e := memengine.New(t0, b)
	var v report.Verdict
	var err error
	opts := up.Options{MaxInitSeconds: 60, LogsDir: t.TempDir(), Clock: e.Clock}
	if !e.Drive(2*time.Second, 30*time.Minute, func(idle func(int)) {
		opts.Idle = func(n int) {
			if e.Clock.Since(t0) >= 10*time.Second {
				e.SetDown(true)
			}
			idle(n)
		}
		v, err = up.Run(t.Context(), e, m, opts)
	}) {
		t.Fatal("up did not finish")
	}
	if !errors.Is(err, engine.ErrEngine) {
		t.Fatalf("err = %v, want an engine error (exit 3)", err)
	}
	if d := e.Clock.Since(t0); d > 40*time.Second {
		t.Errorf("the loss was noticed after %s of fake time, want within the 10 s loss timeout and a tick", d)
	}
	if got := outcomes(v)["init"]; got.Outcome != "error" {
		t.Errorf("init: %q (%s)", got.Outcome, got.Detail)
	}
}

func TestUpRefusesAForeignNetworkAndWarnsOfAHandMadeVolume(t *testing.T) {
	withVolume := stack + "    volumes: [data:/data]\nvolumes:\n  data: {}\n"
	m := memengine.LoadYAML(t, "p", withVolume)
	e := memengine.New(t0, behaviors())
	e.AddNetwork("p_default", map[string]string{engine.LabelProject: "shop"})
	if _, err := runUp(t, e, m); !errors.Is(err, engine.ErrConflict) || !errors.Is(err, compose.ErrInvalidProject) {
		t.Fatalf("err = %v, want a conflict naming the network (exit 2)", err)
	}
	if _, ok := e.Lookup("p-db-1"); ok {
		t.Error("a container was created though the network is not the project's")
	}

	e = memengine.New(t0, behaviors())
	e.AddVolume("p_data", nil)
	var warn strings.Builder
	v, err := runUpWith(t, e, m, &warn)
	if err != nil || !v.OK {
		t.Fatalf("ok=%v err=%v", v.OK, err)
	}
	if !strings.Contains(warn.String(), `WARN: volume "p_data" already exists but was not created by docker compose or infractl`) {
		t.Errorf("warnings: %q", warn.String())
	}
}

const realWorld = `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  migrate:
    image: tool
    restart: on-failure
    command: ["migrate", "up"]
    depends_on: {db: {condition: service_healthy}}
  catalog:
    image: app-data
  app:
    image: app
    depends_on: {migrate: {condition: service_completed_successfully}}
`

// The verdict of a real-world stack: an on-failure init that fails twice
// then succeeds is one success after two retries; a service declared
// nothing special that exits 0 during the run is a one-shot by
// observation, and the verdict says so.
func TestUpJudgesRolesByWhatHappens(t *testing.T) {
	m := memengine.LoadYAML(t, "p", realWorld)
	if r := m.Services["catalog"].Role; r == compose.RoleInit {
		t.Fatalf("catalog is an init by its declaration (%s): the test needs one that is not", m.Services["catalog"].Reason)
	}
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":      {Healthcheck: true, HealthyAfter: 10 * time.Second},
		"migrate": {ExitAfter: time.Second, ExitCode: 1, SucceedOnRun: 3, Logs: "migrated\n"},
		"catalog": {ExitAfter: 2 * time.Second, Logs: "seeded\n"},
		"app":     {},
	})
	v, err := runUp(t, e, m)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("verdict failed: %+v", v.Services)
	}
	got := map[string]report.ServiceVerdict{}
	for _, s := range v.Services {
		got[s.Name] = s
	}
	if s := got["migrate"]; s.Role != "init" || s.RoleObserved || s.Retries != 2 || s.ExitCode == nil || *s.ExitCode != 0 {
		t.Errorf("migrate: %+v; want a declared init, exit 0 after 2 retries", s)
	}
	if s := got["catalog"]; s.Role != "init" || !s.RoleObserved || s.ExitCode == nil || *s.ExitCode != 0 || s.LogFile == "" {
		t.Errorf("catalog: %+v; want an observed init, exit 0, its log kept", s)
	}
	msgs := map[string]string{}
	for _, c := range v.Checks {
		if c.ID == report.ReqInitExit {
			for _, r := range c.Results {
				msgs[r.Service] = r.Message
			}
		}
	}
	if want := "exited 0 after 2 retries (restart: on-failure)"; msgs["migrate"] != want {
		t.Errorf("%s for migrate: %q, want %q", report.ReqInitExit, msgs["migrate"], want)
	}
	if !strings.Contains(msgs["catalog"], "a one-shot by observation") {
		t.Errorf("%s for catalog: %q, want it to say the role was observed", report.ReqInitExit, msgs["catalog"])
	}
	var text strings.Builder
	if err := report.WriteVerdictText(&text, v, report.PlainStyles()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"init*", "ok (2 retries)", "* role observed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("verdict text lacks %q:\n%s", want, text.String())
		}
	}
}

// An engine that fails once the run is over (its logs cannot be read) is
// the engine's error (exit 3), not a success whose verdict lacks the logs;
// the verdict is still returned.
func TestAnEngineLostWhileReadingLogsIsAnEngineError(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	e := memengine.New(t0, behaviors())
	e.LogsError = fmt.Errorf("the Docker engine at x stopped answering: %w", engine.ErrLost)
	v, err := runUp(t, e, m)
	if !errors.Is(err, engine.ErrEngine) || len(v.Services) == 0 {
		t.Fatalf("up: %v with %d services, want an engine error and the verdict", err, len(v.Services))
	}
}

// Scaling goes both ways (#29 item 2): a second up with fewer replicas
// removes the containers above the new count, highest numbers first, and
// the verdict lists them; the kept replica stays.
func TestUpScalesDown(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	e := memengine.New(t0, behaviors())
	if err := m.SetScale("app", 3); err != nil {
		t.Fatal(err)
	}
	if v, err := runUp(t, e, m); err != nil || !v.OK {
		t.Fatalf("up with 3: %v %+v", err, v.Services)
	}
	first, _ := e.Lookup("p-app-1")
	m = memengine.LoadYAML(t, "p", stack)
	v, err := runUp(t, e, m)
	if err != nil || !v.OK {
		t.Fatalf("up with 1: %v %+v", err, v.Services)
	}
	if got := strings.Join(v.ScaledDown, " "); got != "p-app-3 p-app-2" {
		t.Errorf("scaled down %q, want p-app-3 p-app-2", got)
	}
	for _, n := range []string{"p-app-2", "p-app-3"} {
		if _, ok := e.Lookup(n); ok {
			t.Errorf("%s is still there", n)
		}
	}
	if c, ok := e.Lookup("p-app-1"); !ok || c.ID != first.ID {
		t.Errorf("the first replica was not kept: %v", ok)
	}
}

// A backend ready by infractl's probe whose Docker healthcheck has not
// passed yet when up returns: the verdict says so (#29 item 5), and says
// nothing once Docker's check passed first.
func TestUpSaysWhenDockersHealthcheckHasNotPassedYet(t *testing.T) {
	for _, tt := range []struct {
		name    string
		db      memengine.Behavior
		noteFor string
	}{
		{"probe first", memengine.Behavior{Healthcheck: true, ProbeOKAfter: time.Second, HealthyAfter: time.Hour}, "db"},
		{"Docker first", memengine.Behavior{Healthcheck: true, HealthyAfter: time.Second}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := memengine.LoadYAML(t, "p", stack)
			e := memengine.New(t0, map[string]memengine.Behavior{"db": tt.db, "init": {ExitAfter: time.Second}, "app": {}})
			var v report.Verdict
			var err error
			opts := up.Options{MaxInitSeconds: 60, LogsDir: t.TempDir(), Clock: e.Clock, ProbeInterval: 250 * time.Millisecond}
			if !e.Drive(2*time.Second, 30*time.Minute, func(idle func(int)) {
				opts.Idle = idle
				v, err = up.Run(t.Context(), e, m, opts)
			}) {
				t.Fatal("up did not finish")
			}
			if err != nil || !v.OK {
				t.Fatalf("up: %v %+v", err, v.Services)
			}
			note := strings.Join(v.Notes, "\n")
			if tt.noteFor == "" && note != "" || tt.noteFor != "" && !strings.HasPrefix(note, tt.noteFor+" is ready by infractl's probe") {
				t.Errorf("notes %q, want one for %q", note, tt.noteFor)
			}
		})
	}
}
