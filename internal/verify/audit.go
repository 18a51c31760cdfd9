package verify

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/infractl/infractl/internal/provision"
	"github.com/infractl/infractl/internal/report"
)

// auditCheck is VAL-SPC-103: every resource the project declares
// (x-infractl) exists in its backend as declared. Backends are reached
// through the engine (service names and aliases resolved to the
// containers' addresses), so the audit sees what the inits saw.
type auditCheck struct{ enabled bool }

func (auditCheck) ID() string { return report.ReqAudit }

func (a auditCheck) Run(ctx context.Context, env *Env) (report.Check, error) {
	if !a.enabled {
		return skipped(report.ReqAudit, "provisioned resources exist in their backend", "run with --audit"), nil
	}
	env.Say("VAL-SPC-103: checking the declared resources in their backends")
	c := report.Check{ID: report.ReqAudit, Title: "provisioned resources exist in their backend"}
	decls, err := provision.Declarations(env.Model)
	if err != nil {
		c.Status, c.Reason = report.Fail, err.Error()
		return c, nil
	}
	if len(decls) == 0 {
		c.Status, c.Reason = report.Skip, "no init declares its resources (x-infractl)"
		return c, nil
	}
	all := env.All
	pe := provision.Env{
		Secrets: provision.HostSecrets(env.Model),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return env.Observer.Dial(ctx, all, network, addr)
		},
		Retry: provision.Retry{MaxRetries: 3, Deadline: 15 * time.Second},
	}
	for _, d := range decls {
		for _, p := range provision.For(d, pe) {
			items, err := p.Check(ctx)
			for _, it := range items {
				r := report.CheckResult{Service: d.Service, Status: report.Pass, Message: fmt.Sprintf("%s %s: %s", it.Backend, it.Resource, it.Status)}
				if it.Detail != "" {
					r.Message += " (" + it.Detail + ")"
				}
				if it.Bad() {
					r.Status = report.Fail
				}
				c.Results = append(c.Results, r)
			}
			if err != nil {
				c.Results = append(c.Results, report.CheckResult{Service: d.Service, Status: report.Fail, Message: err.Error()})
			}
		}
	}
	return c, nil
}
