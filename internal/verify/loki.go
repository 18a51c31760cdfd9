package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/infractl/infractl/internal/loki"
	"github.com/infractl/infractl/internal/report"
)

// LokiQuerier runs a LogQL query (loki.Client.Query).
type LokiQuerier interface {
	Query(ctx context.Context, logql string, start, end time.Time, limit int) ([]loki.Line, error)
	URL() string
}

// lokiCheck is SPEC-INFRA-03 §9 ("automation results MUST be searchable in
// Loki"): every init's result line for its current container is found in
// Loki by its project and service.
type lokiCheck struct{}

func (lokiCheck) ID() string { return report.ReqLoki }

const lokiTitle = "every init's result of the current run is searchable in Loki (SPEC-INFRA-03 §9)"

func (lokiCheck) Run(ctx context.Context, env *Env) (report.Check, error) {
	q := env.Opts.Loki
	if q == nil {
		return skipped(report.ReqLoki, lokiTitle, "run with --loki URL"), nil
	}
	env.Say("SPEC-INFRA-03 §9: looking for each init's result in %s", q.URL())
	c := report.Check{ID: report.ReqLoki, Title: lokiTitle}
	project := env.Model.Project.Name
	for _, s := range env.Model.Inits() {
		ctr, ok := env.Current[s.Name]
		if !ok || ctr.State.NeverStarted() {
			msg := "it has no container that ran"
			if s.Hook != nil {
				msg = "its runner is gone (a hook that succeeds leaves no container): nothing to match"
			}
			c.Results = append(c.Results, report.CheckResult{Service: s.Name, Status: report.Skip, Message: msg})
			continue
		}
		logql := fmt.Sprintf(`{%s=%s, %s=%s, %s=%s, %s=%s}`, loki.LabelProject, strconv.Quote(project), loki.LabelService, strconv.Quote(s.Name),
			loki.LabelSource, strconv.Quote(loki.Source), loki.LabelKind, strconv.Quote(loki.KindResult))
		from := ctr.State.StartedAt.Add(-time.Hour)
		lines, err := q.Query(ctx, logql, from, time.Now().Add(time.Minute), 1000)
		if err != nil {
			c.Results = append(c.Results, report.CheckResult{Service: s.Name, Status: report.Fail, Message: "cannot query Loki: " + err.Error()})
			continue
		}
		res := report.CheckResult{Service: s.Name, Status: report.Fail,
			Message: fmt.Sprintf("no result line for its current container %.12s in Loki (%d for the service; push them with infractl up --loki-url)", ctr.ID, len(lines))}
		for _, l := range lines {
			var r loki.Result
			if json.Unmarshal([]byte(l.Line), &r) == nil && r.ContainerID == ctr.ID {
				code := "none"
				if r.ExitCode != nil {
					code = strconv.Itoa(*r.ExitCode)
				}
				res.Status, res.Message = report.Pass, fmt.Sprintf("found: run %s, outcome %s, exit %s, %.1f s", r.Run, r.Outcome, code, r.DurationSeconds)
			}
		}
		c.Results = append(c.Results, res)
	}
	judged := false
	for _, r := range c.Results {
		judged = judged || r.Status != report.Skip
	}
	if !judged {
		c.Status, c.Reason = report.Skip, "no init has a container of the current run to match"
	}
	return c, nil
}
