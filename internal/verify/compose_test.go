package verify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

func TestComposeCheckFailsOnLintErrorsNamingRuleFileAndLine(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack) // db holds DB_PASSWORD in plain text
	e := memengine.New(t0, nil)
	seed(t, e, m, "db") // a project on the engine to verify
	c := check(t, e, m, verify.Options{MaxInitSeconds: 60}, report.ReqCompose)
	if c.Status != report.Fail {
		t.Fatalf("VAL-AUTO-001 %s, want fail", c.Status)
	}
	got := map[string]report.CheckResult{}
	for _, r := range c.Results {
		got[r.Service] = r
	}
	db := got["db"]
	if db.Status != report.Fail || !strings.HasPrefix(db.Message, "INF004 secret-in-env at ") || !strings.Contains(db.Message, "compose.yaml:7:") {
		t.Errorf("db: %s %q, want INF004 at compose.yaml:7", db.Status, db.Message)
	}
	if strings.Contains(db.Message, "s3cr3t-value") {
		t.Errorf("the secret is printed: %q", db.Message)
	}
	if r := got["init"]; r.Status != report.Pass || r.Message != "loads; no lint errors" {
		t.Errorf("init: %s %q", r.Status, r.Message)
	}
}

func TestComposeCheckPassesAStackWithoutLintErrors(t *testing.T) {
	m := memengine.LoadYAML(t, "p", `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  init:
    image: tool
    restart: "no"
    depends_on: {db: {condition: service_healthy}}
`)
	e := memengine.New(t0, nil)
	seed(t, e, m, "db")
	c := check(t, e, m, verify.Options{MaxInitSeconds: 60}, report.ReqCompose)
	if c.Status != report.Pass || len(c.Results) != 2 {
		t.Errorf("VAL-AUTO-001 %s with %d results, want pass for db and init: %+v", c.Status, len(c.Results), c.Results)
	}
}

// A project with no container on the engine is one line (exit 1), not a
// row per service that "never ran" (#29 item 5).
func TestVerifyOfAProjectWithNoContainersSaysSo(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	_, err := verify.Run(t.Context(), memengine.New(t0, nil), m, verify.Options{MaxInitSeconds: 60})
	if !errors.Is(err, verify.ErrNoContainers) || !strings.Contains(err.Error(), `project "p" has no containers`) {
		t.Fatalf("verify of an absent project: %v", err)
	}
}
