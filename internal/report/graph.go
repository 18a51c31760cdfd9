package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/infractl/infractl/internal/compose"
)

// WriteMermaid draws the depends_on graph as a Mermaid flowchart: inits are
// stadium-shaped with class init, edges point from the service waited on to
// the one that waits and carry their condition.
func WriteMermaid(w io.Writer, p Plan) error {
	bw := &errWriter{w: w}
	bw.printf("flowchart LR\n")
	ids := nodeIDs(p)
	for _, s := range p.Services {
		switch s.Role {
		case compose.RoleInit:
			bw.printf("  %s([%q]):::init\n", ids[s.Name], s.Name+" (init)")
		case compose.RoleBackend:
			bw.printf("  %s[(%q)]:::backend\n", ids[s.Name], s.Name)
		default:
			bw.printf("  %s[%q]:::app\n", ids[s.Name], s.Name)
		}
	}
	for _, s := range p.Services {
		for _, e := range s.WaitsOn {
			arrow := "-->"
			if !e.Required {
				arrow = "-.->"
			}
			bw.printf("  %s %s|%s| %s\n", ids[e.To], arrow, e.Condition, ids[s.Name])
		}
	}
	bw.printf("  classDef init fill:#f3e8ff,stroke:#7e22ce,stroke-width:2px\n")
	bw.printf("  classDef backend fill:#e0f2fe,stroke:#0369a1\n")
	bw.printf("  classDef app fill:#f5f5f5,stroke:#525252\n")
	return bw.err
}

// WriteDot draws the graph in Graphviz dot: inits are purple boxes with a
// double border, edges are labelled with their condition (dashed when the
// dependency is optional).
func WriteDot(w io.Writer, p Plan) error {
	bw := &errWriter{w: w}
	bw.printf("digraph %q {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", p.Project)
	for _, s := range p.Services {
		switch s.Role {
		case compose.RoleInit:
			bw.printf("  %q [shape=box, peripheries=2, style=filled, fillcolor=\"#f3e8ff\", label=\"%s\\n(init)\"];\n", s.Name, s.Name)
		case compose.RoleBackend:
			bw.printf("  %q [shape=cylinder, style=filled, fillcolor=\"#e0f2fe\"];\n", s.Name)
		default:
			bw.printf("  %q [shape=ellipse];\n", s.Name)
		}
	}
	for _, s := range p.Services {
		for _, e := range s.WaitsOn {
			style := ""
			if !e.Required {
				style = ", style=dashed"
			}
			bw.printf("  %q -> %q [label=%q%s];\n", e.To, s.Name, e.Condition, style)
		}
	}
	bw.printf("}\n")
	return bw.err
}

// nodeIDs gives every service a Mermaid-safe identifier.
func nodeIDs(p Plan) map[string]string {
	ids := map[string]string{}
	for i, s := range p.Services {
		id := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
				return r
			}
			return '_'
		}, s.Name)
		ids[s.Name] = fmt.Sprintf("n%d_%s", i, id)
	}
	return ids
}
