package verify

import (
	"context"
	"strings"

	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
)

// leakCheck is SEC-SPC-AUTO-001: no init's log contains a secret value of
// the project (the leaking line is shown redacted).
type leakCheck struct{}

func (leakCheck) ID() string { return report.ReqSecrets }

func (leakCheck) Run(_ context.Context, env *Env) (report.Check, error) {
	c := report.Check{ID: report.ReqSecrets, Title: "no init log contains a secret value"}
	for _, s := range env.Model.Inits() {
		log, ran := env.Logs[s.Name]
		if !ran {
			continue
		}
		r := report.CheckResult{Service: s.Name, Status: report.Pass, Message: "no secret value in its log"}
		if env.Red.Contains(log) {
			r.Status, r.Message = report.Fail, "its log contains a secret value: "+FirstLeak(env.Red, log)
		}
		c.Results = append(c.Results, r)
	}
	if len(c.Results) == 0 {
		c.Status, c.Reason = report.Skip, "no init has run"
	}
	return c, nil
}

// FirstLeak is the first line of log that shows a secret, redacted.
func FirstLeak(red *redact.Redactor, log string) string {
	for _, l := range strings.Split(log, "\n") {
		if red.Contains(l) {
			return strings.TrimSpace(red.String(l))
		}
	}
	// A secret split across lines (multi-line values): name the first
	// line of the match.
	return strings.TrimSpace(strings.SplitN(red.String(log), "\n", 2)[0])
}
