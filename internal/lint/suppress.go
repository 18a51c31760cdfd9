package lint

import (
	"fmt"
	"sort"
	"strings"
)

// suppress drops findings suppressed with a reason, by a line comment
// (# infractl:ignore INF006 <reason>) or by the service's x-infractl
// ignore list; a suppression without a reason is itself a finding (INF000).
func (c *checker) suppress() []Finding {
	type ignore struct{ rule, reason string }
	bySvc := map[string][]ignore{}
	names := append([]string{}, c.m.Names...)
	sort.Strings(names)
	for _, n := range names {
		s := c.m.Services[n]
		x, ok := s.Config.Extensions["x-infractl"].(map[string]any)
		if !ok {
			continue
		}
		list, _ := x["ignore"].([]any)
		for _, item := range list {
			e, _ := item.(map[string]any)
			rule, _ := e["rule"].(string)
			reason, _ := e["reason"].(string)
			bySvc[n] = append(bySvc[n], ignore{rule, strings.TrimSpace(reason)})
			if strings.TrimSpace(reason) == "" {
				c.add("INF000", n, c.m.Index.Key(n, "x-infractl", "ignore"), "x-infractl ignores %s without a reason", rule)
			}
		}
	}
	var out []Finding
	reported := map[string]bool{}
	for _, f := range c.findings {
		if f.Rule == "INF000" {
			out = append(out, f)
			continue
		}
		suppressed := false
		for _, ig := range bySvc[f.Service] {
			if ig.rule == f.Rule && ig.reason != "" {
				suppressed = true
			}
		}
		if f.Line > 0 {
			comment := c.comment(f.File, f.Line)
			if rest, ok := strings.CutPrefix(comment, "infractl:ignore"); ok {
				fields := strings.Fields(rest)
				if len(fields) > 0 && fields[0] == f.Rule {
					if len(fields) > 1 {
						suppressed = true
					} else if key := fmt.Sprintf("%s:%d", f.File, f.Line); !reported[key] {
						reported[key] = true
						r, _ := RuleByID("INF000")
						out = append(out, Finding{Rule: r.ID, Name: r.Name, Severity: r.Severity, Service: f.Service,
							File: f.File, Line: f.Line, Column: f.Column,
							Message: fmt.Sprintf("infractl:ignore %s has no reason", f.Rule), Fix: r.Fix})
					}
				}
			}
		}
		if !suppressed {
			out = append(out, f)
		}
	}
	return out
}

// comment returns the trailing comment on a line of a compose file or
// script.
func (c *checker) comment(file string, line int) string {
	if cm := c.m.Index.Comment(file, line); cm != "" {
		return cm
	}
	lines := c.scriptLines(file)
	if line-1 < len(lines) {
		l := lines[line-1]
		if i := strings.Index(l, "# infractl:ignore"); i >= 0 {
			return strings.TrimSpace(l[i+1:])
		}
	}
	return ""
}
