package verify_test

import (
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

func TestRerunCheck(t *testing.T) {
	m := memengine.LoadYAML(t, "p", twoInits)
	ok := memengine.Behavior{ExitAfter: 2 * time.Second}
	tests := []struct {
		name         string
		init1, init2 memengine.Behavior
		dbUp         bool
		want         map[string]report.CheckResult
	}{
		{"idempotent", ok, ok, true, map[string]report.CheckResult{
			"init1": {Status: report.Pass, Message: "second run exited 0"},
			"init2": {Status: report.Pass, Message: "second run exited 0"},
		}},
		{"not idempotent: its log tail, redacted", ok,
			memengine.Behavior{ExitAfter: time.Second, ExitCode: 3, Logs: "connecting with s3cr3t-value\nERROR: relation \"users\" already exists\n"}, true,
			map[string]report.CheckResult{
				"init1": {Status: report.Pass, Message: "second run exited 0"},
				"init2": {Status: report.Fail, Message: `second run failed (exit 3): not idempotent: connecting with *** | ERROR: relation "users" already exists`},
			}},
		{"what waits on a failed init is blocked", memengine.Behavior{ExitAfter: time.Second, ExitCode: 1}, ok, true,
			map[string]report.CheckResult{
				"init1": {Status: report.Fail, Message: "second run failed (exit 1): not idempotent"},
				"init2": {Status: report.Fail, Message: "second run blocked by init1"},
			}},
		{"a target is down: skipped", ok, ok, false, map[string]report.CheckResult{
			"init1": {Status: report.Skip, Message: `its target "db" is not running`},
			"init2": {Status: report.Skip, Message: `its target "db" is not running`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := memengine.New(t0, map[string]memengine.Behavior{"init1": tt.init1, "init2": tt.init2})
			seed(t, e, m, "db", "init1", "init2")
			if !tt.dbUp {
				e.SetState("p-db-1", exitedState(0))
			}
			var v verifyResult
			if !e.Drive(time.Second, time.Hour, func(idle func(int)) {
				v.run(t, e, m, verify.Options{MaxInitSeconds: 60, Rerun: true, FailFastWithin: time.Minute, Clock: e.Clock, Idle: idle})
			}) {
				t.Fatal("verify still running after an hour of fake time")
			}
			c := v.check(t, report.ReqIdempotent)
			if len(c.Results) != len(tt.want) {
				t.Errorf("%d results, want %d: %+v", len(c.Results), len(tt.want), c.Results)
			}
			for _, r := range c.Results {
				if w := tt.want[r.Service]; r.Status != w.Status || r.Message != w.Message {
					t.Errorf("%s: %s %q, want %s %q", r.Service, r.Status, r.Message, w.Status, w.Message)
				}
			}
		})
	}
}
