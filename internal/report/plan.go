// Package report renders what infractl knows and finds: the plan of a
// project, its graph, and the verdict of a run, for terminals (styled on a
// TTY, plain otherwise) and machines (versioned JSON, JUnit XML, Mermaid,
// Graphviz dot). Output is deterministic: sorted, no timestamps.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/infractl/infractl/internal/compose"
)

// PlanSchemaVersion is the version of the plan JSON document.
const PlanSchemaVersion = 1

// Plan is the serialisable view of a model, shared by the text and JSON
// renderers so they always agree.
type Plan struct {
	SchemaVersion int           `json:"schemaVersion"`
	Project       string        `json:"project"`
	WorkingDir    string        `json:"-"`
	Files         []string      `json:"files"`
	Stages        [][]string    `json:"stages"`
	Services      []PlanService `json:"services"`
	Inits         []string      `json:"inits"`
	Disabled      []string      `json:"disabled"`
	CriticalPath  []string      `json:"criticalPath"`
}

// PlanService is one service of the plan.
type PlanService struct {
	Name      string         `json:"name"`
	Role      compose.Role   `json:"role"`
	Reason    string         `json:"reason"`
	Stage     int            `json:"stage"`
	File      string         `json:"file"`
	Line      int            `json:"line"`
	WaitsOn   []compose.Edge `json:"waitsOn"`
	WaitedOn  []compose.Edge `json:"waitedOnBy"`
	PreStart  *compose.Hook  `json:"preStartHook,omitempty"`
	Image     string         `json:"image,omitempty"`
	Condition string         `json:"-"`
}

// NewPlan builds the plan view of m. File paths are relative to the
// project's working directory.
func NewPlan(m *compose.Model) Plan {
	p := Plan{
		SchemaVersion: PlanSchemaVersion,
		Project:       m.Project.Name,
		WorkingDir:    m.Project.WorkingDir,
		Stages:        m.Stages,
		Disabled:      m.Disabled,
		CriticalPath:  m.CriticalPath,
	}
	for _, f := range m.Files {
		p.Files = append(p.Files, rel(m.Project.WorkingDir, f))
	}
	for _, n := range m.Names {
		s := m.Services[n]
		ps := PlanService{
			Name: n, Role: s.Role, Reason: s.Reason, Stage: s.Stage,
			File: rel(m.Project.WorkingDir, s.Location.File), Line: s.Location.Line,
			WaitsOn: s.Deps, PreStart: s.Hook, Image: s.Config.Image,
		}
		if ps.WaitsOn == nil {
			ps.WaitsOn = []compose.Edge{}
		}
		ps.WaitedOn = []compose.Edge{}
		for _, d := range s.Dependents {
			for _, e := range m.Services[d].Deps {
				if e.To == n {
					ps.WaitedOn = append(ps.WaitedOn, e)
				}
			}
		}
		if s.Role == compose.RoleInit {
			p.Inits = append(p.Inits, n)
		}
		p.Services = append(p.Services, ps)
	}
	if p.Inits == nil {
		p.Inits = []string{}
	}
	if p.Disabled == nil {
		p.Disabled = []string{}
	}
	if p.CriticalPath == nil {
		p.CriticalPath = []string{}
	}
	return p
}

func rel(base, path string) string {
	if path == "" {
		return ""
	}
	if r, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// WritePlanJSON writes the plan as indented JSON.
func WritePlanJSON(w io.Writer, p Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WritePlanText writes the plan for people: the init phase first, then the
// stages with every service's role and reason.
func WritePlanText(w io.Writer, p Plan, st Styles) error {
	counts := map[compose.Role]int{}
	for _, s := range p.Services {
		counts[s.Role]++
	}
	bw := &errWriter{w: w}
	bw.printf("%s %s: %d services (%d init, %d backend, %d app), %d disabled by profile, %d stages\n",
		st.Title.Render("project"), st.Name.Render(p.Project), len(p.Services),
		counts[compose.RoleInit], counts[compose.RoleBackend], counts[compose.RoleApp], len(p.Disabled), len(p.Stages))
	byName := map[string]PlanService{}
	width := 0
	for _, s := range p.Services {
		byName[s.Name] = s
		width = max(width, len(s.Name))
	}

	bw.printf("\n%s (%d)\n", st.Title.Render("init phase"), len(p.Inits))
	for _, n := range p.Inits {
		s := byName[n]
		bw.printf("  %s  stage %d  %s:%d\n", st.Init.Render(pad(n, width)), s.Stage, s.File, s.Line)
		bw.printf("      waits on:      %s\n", edgesTo(s.WaitsOn))
		bw.printf("      waited on by:  %s\n", edgesFrom(s.WaitedOn))
	}
	if len(p.Inits) == 0 {
		bw.printf("  (none: no service looks like an init; label one with infractl.role=init)\n")
	}

	bw.printf("\n%s\n", st.Title.Render("stages"))
	for i, stage := range p.Stages {
		bw.printf("  stage %d (%d in parallel)\n", i, len(stage))
		for _, n := range stage {
			s := byName[n]
			bw.printf("    %s  %s  %s\n", st.Role(s.Role).Render(pad(n, width)), pad(string(s.Role), 7), s.Reason)
		}
	}
	if len(p.Disabled) > 0 {
		bw.printf("\n%s: %s\n", st.Title.Render("disabled by profile"), strings.Join(p.Disabled, ", "))
	}
	if len(p.CriticalPath) > 0 {
		bw.printf("\n%s: %s\n", st.Title.Render("critical path"), strings.Join(p.CriticalPath, " -> "))
	}
	return bw.err
}

func edgesTo(es []compose.Edge) string {
	if len(es) == 0 {
		return "-"
	}
	var parts []string
	for _, e := range es {
		parts = append(parts, fmt.Sprintf("%s (%s%s)", e.To, e.Condition, optional(e)))
	}
	return strings.Join(parts, ", ")
}

func edgesFrom(es []compose.Edge) string {
	if len(es) == 0 {
		return "-"
	}
	var parts []string
	for _, e := range es {
		parts = append(parts, fmt.Sprintf("%s (%s%s)", e.From, e.Condition, optional(e)))
	}
	return strings.Join(parts, ", ")
}

func optional(e compose.Edge) string {
	if !e.Required {
		return ", optional"
	}
	return ""
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
