package verify_test

import (
	"testing"
	"time"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const stack = `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
    environment:
      DB_PASSWORD: s3cr3t-value
  init:
    image: tool
    restart: "no"
    depends_on: {db: {condition: service_healthy}}
  seed:
    image: tool
    restart: "no"
    depends_on: {init: {condition: service_completed_successfully}}
`

// seed runs a container of each service with the project's labels and the
// service's own config hash (so it is not stale); backends (no restart
// "no") keep running, inits exit 0 at once.
func seed(t *testing.T, e *memengine.Engine, m *compose.Model, services ...string) {
	t.Helper()
	for _, svc := range services {
		h, err := engine.ServiceHashes(m.Project.Services[svc])
		if err != nil {
			t.Fatal(err)
		}
		running := m.Services[svc].Role != compose.RoleInit
		e.Run("p-"+svc+"-1", svc, map[string]string{engine.LabelProject: "p", engine.LabelService: svc, engine.LabelConfigHash: h[0]}, running, 0)
	}
}

// check runs verify and returns the check with the given ID.
func check(t *testing.T, e engine.Engine, m *compose.Model, opts verify.Options, id string) report.Check {
	t.Helper()
	var r verifyResult
	r.run(t, e, m, opts)
	return r.check(t, id)
}

func TestRunRunsEveryCheckInOrderAndSkipsTheOptInOnes(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	e := memengine.New(t0, nil)
	seed(t, e, m, "db", "init", "seed")
	v, err := verify.Run(t.Context(), e, m, verify.Options{MaxInitSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range verify.Checks(verify.Options{}) {
		ids = append(ids, c.ID())
	}
	if len(v.Checks) != len(ids) {
		t.Fatalf("%d checks, want %d", len(v.Checks), len(ids))
	}
	for i, c := range v.Checks {
		if c.ID != ids[i] {
			t.Errorf("check %d is %s, want %s", i, c.ID, ids[i])
		}
	}
	want := map[string]string{report.ReqIdempotent: "run with --rerun", report.ReqBlocking: "run with --blocking (it stops backends)", report.ReqAudit: "run with --audit"}
	for _, c := range v.Checks {
		if reason, optIn := want[c.ID]; optIn && (c.Status != report.Skip || c.Reason != reason) {
			t.Errorf("%s: %s %q, want skipped: %q", c.ID, c.Status, c.Reason, reason)
		}
	}
}

// verifyResult is a verify run made on another goroutine.
type verifyResult struct {
	v   report.Verdict
	err error
}

func (r *verifyResult) run(t *testing.T, e engine.Engine, m *compose.Model, opts verify.Options) {
	r.v, r.err = verify.Run(t.Context(), e, m, opts)
}

func (r *verifyResult) check(t *testing.T, id string) report.Check {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, c := range r.v.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s in %+v", id, r.v.Checks)
	return report.Check{}
}

func exitedState(code int) engine.State {
	return engine.State{Exited: true, ExitCode: code, StartedAt: t0, FinishedAt: t0.Add(time.Second)}
}
