package verify_test

import (
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

func TestAuditCheckSkipsWithoutDeclarations(t *testing.T) {
	m := memengine.LoadYAML(t, "p", twoInits)
	e := memengine.New(t0, nil)
	seed(t, e, m, "db", "init1", "init2")
	c := check(t, e, m, verify.Options{MaxInitSeconds: 60, Audit: true}, report.ReqAudit)
	if c.Status != report.Skip || c.Reason != "no init declares its resources (x-infractl)" {
		t.Errorf("%s %q, want skipped: no declarations", c.Status, c.Reason)
	}
}

// The in-memory engine has no network: a declared backend that cannot be
// reached is a failure naming the init and the backend, never a pass. The
// audit against real backends is the end-to-end test's.
func TestAuditCheckFailsWhenABackendCannotBeReached(t *testing.T) {
	m := memengine.LoadYAML(t, "p", `
services:
  kafka:
    image: kafka
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  topics:
    image: tool
    restart: "no"
    depends_on: {kafka: {condition: service_healthy}}
    x-infractl:
      kafka:
        bootstrap: ["kafka:9092"]
        topics: [{name: events, partitions: 1, replication: 1}]
`)
	e := memengine.New(t0, nil)
	seed(t, e, m, "kafka", "topics")
	c := check(t, e, m, verify.Options{MaxInitSeconds: 60, Audit: true}, report.ReqAudit)
	if c.Status != report.Fail || len(c.Results) == 0 {
		t.Fatalf("VAL-SPC-103 %s %+v, want fail", c.Status, c.Results)
	}
	for _, r := range c.Results {
		if r.Service != "topics" || r.Status != report.Fail || !strings.Contains(r.Message, "kafka:9092") {
			t.Errorf("%s: %s %q, want a failure of topics naming kafka:9092", r.Service, r.Status, r.Message)
		}
	}
}

func TestAuditCheckFailsOnAnInvalidDeclaration(t *testing.T) {
	m := memengine.LoadYAML(t, "p", `
services:
  topics:
    image: tool
    restart: "no"
    x-infractl:
      kafka: {bootstrap: ["kafka:9092"], topics: [{name: events, partitions: "many"}]}
`)
	e := memengine.New(t0, nil)
	seed(t, e, m, "topics")
	c := check(t, e, m, verify.Options{MaxInitSeconds: 60, Audit: true}, report.ReqAudit)
	if c.Status != report.Fail || !strings.Contains(c.Reason, "topics") {
		t.Errorf("%s %q, want fail naming the service", c.Status, c.Reason)
	}
}
