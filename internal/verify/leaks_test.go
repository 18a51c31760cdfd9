package verify_test

import (
	"testing"

	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

func TestLeakCheckFindsASecretInAnInitLog(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	e := memengine.New(t0, map[string]memengine.Behavior{"init": {Logs: "connecting\npassword is s3cr3t-value\n"}})
	seed(t, e, m, "db", "init", "seed")
	v, err := verify.Run(t.Context(), e, m, verify.Options{MaxInitSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Checks {
		if c.ID != report.ReqSecrets {
			continue
		}
		if c.Status != report.Fail {
			t.Fatalf("SEC-SPC-AUTO-001 = %s: %+v", c.Status, c.Results)
		}
		for _, r := range c.Results {
			if r.Service == "init" && r.Message != "its log contains a secret value: password is ***" {
				t.Errorf("init: %q", r.Message)
			}
			if r.Service == "seed" && r.Status != report.Pass {
				t.Errorf("seed: %s %q", r.Status, r.Message)
			}
		}
	}
}

func TestFirstLeakShowsTheLeakingLineRedacted(t *testing.T) {
	red := redact.New("s3cr3t-value")
	tests := []struct{ log, want string }{
		{"a\nb uses s3cr3t-value here\nc\n", "b uses *** here"},
		{"s3cr3t-value", "***"},
	}
	for _, tt := range tests {
		if got := verify.FirstLeak(red, tt.log); got != tt.want {
			t.Errorf("FirstLeak(%q) = %q, want %q", tt.log, got, tt.want)
		}
	}
}

func TestLeakCheckSkipsWhenNoInitRan(t *testing.T) {
	m := memengine.LoadYAML(t, "p", stack)
	e := memengine.New(t0, nil)
	seed(t, e, m, "db")
	c := check(t, e, m, verify.Options{MaxInitSeconds: 60}, report.ReqSecrets)
	if c.Status != report.Skip || c.Reason != "no init has run" {
		t.Errorf("%s %q, want skipped: no init has run", c.Status, c.Reason)
	}
}
