package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/infractl/infractl/internal/lint"
	"github.com/infractl/infractl/internal/report"
)

// composeCheck is VAL-AUTO-001: the project loads as `docker compose config
// -q` would (it did, or verify would not run) and lint finds no errors.
type composeCheck struct{}

func (composeCheck) ID() string { return report.ReqCompose }

func (composeCheck) Run(_ context.Context, env *Env) (report.Check, error) {
	m := env.Model
	c := report.Check{ID: report.ReqCompose, Title: "the project loads as docker compose config -q would, and lint finds no errors"}
	byService := map[string][]string{}
	for _, f := range lint.Check(m) {
		if f.Severity == lint.Error {
			byService[f.Service] = append(byService[f.Service], fmt.Sprintf("%s %s at %s:%d: %s", f.Rule, f.Name, f.File, f.Line, f.Message))
		}
	}
	for _, n := range m.Names {
		r := report.CheckResult{Service: n, Status: report.Pass, Message: "loads; no lint errors"}
		if fs := byService[n]; len(fs) > 0 {
			r.Status, r.Message = report.Fail, strings.Join(fs, "; ")
		}
		c.Results = append(c.Results, r)
	}
	return c, nil
}
