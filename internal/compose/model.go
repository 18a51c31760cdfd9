package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/infractl/infractl/internal/fileobj"
)

// Role is what a service is for in the init phase.
type Role string

// The roles discovery assigns.
const (
	RoleInit    Role = "init"
	RoleBackend Role = "backend"
	RoleApp     Role = "app"
)

// RoleLabel overrides discovery, both ways: `infractl.role: init|backend|app`.
const RoleLabel = "infractl.role"

// Depends_on conditions, as compose spells them.
const (
	ConditionStarted   = types.ServiceConditionStarted
	ConditionHealthy   = types.ServiceConditionHealthy
	ConditionCompleted = types.ServiceConditionCompletedSuccessfully
)

// Edge is one depends_on entry: From waits on To.
type Edge struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Condition string `json:"condition"`
	Required  bool   `json:"required"`
	Restart   bool   `json:"restart"`
}

// Hook identifies a pre_start hook step: the Index-th hook of Service.
type Hook struct {
	Service string `json:"service"`
	Index   int    `json:"index"`
}

// Service is one node of the model: a compose service, or a pre_start hook
// of one (Hook set).
type Service struct {
	Name       string
	Role       Role
	Reason     string
	Hook       *Hook
	Config     types.ServiceConfig
	Deps       []Edge   // what it waits on, sorted by target
	Dependents []string // what waits on it, sorted
	Stage      int
	Location   Location
}

// Model is infractl's view of a loaded project.
type Model struct {
	Project *types.Project
	// Files are every compose file read: roots, overrides and includes.
	Files []string
	// EnvFiles are the --env-file values given.
	EnvFiles []string
	Index    *LineIndex
	Services map[string]*Service
	// Names are the enabled services (and hook steps), sorted.
	Names []string
	// Disabled are services whose profile is not active: known, not run.
	Disabled []string
	// Stages are the topological layers: every service in stage n waits
	// only on services in stages < n, so a stage may run in parallel.
	Stages [][]string
	// CriticalPath is the longest chain of waits that ends at an init.
	CriticalPath []string
}

// HookName is the node name of the i-th pre_start hook of service.
func HookName(service string, i int) string {
	return fmt.Sprintf("%s/pre_start[%d]", service, i)
}

// ParseHookName splits a hook's node name into its service and index.
func ParseHookName(name string) (service string, i int, ok bool) {
	svc, rest, found := strings.Cut(name, "/pre_start[")
	if !found || !strings.HasSuffix(rest, "]") {
		return "", 0, false
	}
	i, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	if err != nil || i < 0 {
		return "", 0, false
	}
	return svc, i, true
}

// NewModel builds the model of a project loaded elsewhere (an engine
// adapter that needs the services' roles).
func NewModel(p *types.Project) (*Model, error) { return newModel(p, p.ComposeFiles, nil) }

func newModel(p *types.Project, files, envFiles []string) (*Model, error) {
	m := &Model{
		Project:  p,
		Files:    files,
		EnvFiles: envFiles,
		Index:    NewLineIndex(files),
		Services: map[string]*Service{},
	}
	for name := range p.DisabledServices {
		m.Disabled = append(m.Disabled, name)
	}
	sort.Strings(m.Disabled)

	for name, sc := range p.Services {
		loc, _ := m.Index.Service(name)
		svc := &Service{Name: name, Config: sc, Location: loc}
		for target, dep := range sc.DependsOn {
			if _, ok := p.Services[target]; !ok {
				// compose-go only lets through optional dependencies on
				// disabled services: they are ignored, as compose does.
				continue
			}
			cond := dep.Condition
			if cond == "" {
				cond = ConditionStarted
			}
			svc.Deps = append(svc.Deps, Edge{From: name, To: target, Condition: cond, Required: dep.Required, Restart: dep.Restart})
		}
		m.Services[name] = svc
		for i := range sc.PreStart {
			hn := HookName(name, i)
			h := &Service{Name: hn, Hook: &Hook{Service: name, Index: i}, Config: sc, Location: m.Index.Key(name, "pre_start")}
			for _, e := range svc.Deps {
				e.From = hn
				h.Deps = append(h.Deps, e)
			}
			if i > 0 {
				// Hooks of a service run one at a time, in order.
				h.Deps = append(h.Deps, Edge{From: hn, To: HookName(name, i-1), Condition: ConditionCompleted, Required: true})
			}
			m.Services[hn] = h
		}
		for i := range sc.PreStart {
			svc.Deps = append(svc.Deps, Edge{From: name, To: HookName(name, i), Condition: ConditionCompleted, Required: true})
		}
	}
	for name, s := range m.Services {
		m.Names = append(m.Names, name)
		sort.Slice(s.Deps, func(i, j int) bool { return s.Deps[i].To < s.Deps[j].To })
		for _, e := range s.Deps {
			m.Services[e.To].Dependents = append(m.Services[e.To].Dependents, name)
		}
	}
	sort.Strings(m.Names)
	for _, s := range m.Services {
		sort.Strings(s.Dependents)
	}
	if err := m.layer(); err != nil {
		return nil, err
	}
	m.classify()
	m.criticalPath()
	return m, nil
}

// layer computes the stages, and reports a cycle as compose-go does
// (`a -> b -> a`, searched in name order).
func (m *Model) layer() error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			i := indexOf(path, name)
			return fmt.Errorf("dependency cycle detected: %s -> %s: %w", strings.Join(path[i:], " -> "), name, ErrInvalidProject)
		}
		state[name] = visiting
		s := m.Services[name]
		stage := 0
		for _, e := range s.Deps {
			if err := visit(e.To, append(path, name)); err != nil {
				return err
			}
			stage = max(stage, m.Services[e.To].Stage+1)
		}
		s.Stage = stage
		state[name] = done
		return nil
	}
	for _, n := range m.Names {
		if err := visit(n, nil); err != nil {
			return err
		}
	}
	depth := 0
	for _, s := range m.Services {
		depth = max(depth, s.Stage+1)
	}
	m.Stages = make([][]string, depth)
	for _, n := range m.Names {
		st := m.Services[n].Stage
		m.Stages[st] = append(m.Stages[st], n)
	}
	return nil
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// classify assigns roles: a label overrides; a pre_start hook, a service
// waited on with service_completed_successfully, or a one-shot by the
// evidence (oneShot, discover.go) is an init; anything else waited on is a
// backend; the rest are apps.
func (m *Model) classify() {
	for _, n := range m.Names {
		s := m.Services[n]
		if s.Hook != nil {
			s.Role, s.Reason = RoleInit, fmt.Sprintf("pre_start hook #%d of %q", s.Hook.Index, s.Hook.Service)
			continue
		}
		if r := s.Config.Labels[RoleLabel]; r != "" {
			s.Role, s.Reason = Role(r), fmt.Sprintf("label %s=%s", RoleLabel, r)
			continue
		}
		if by := m.WaitersWith(n, ConditionCompleted); len(by) > 0 {
			s.Role, s.Reason = RoleInit, fmt.Sprintf("%s waits for it to complete (service_completed_successfully)", quoteList(by))
			continue
		}
		if why, ok := oneShot(s); ok {
			s.Role, s.Reason = RoleInit, why
			continue
		}
	}
	for _, n := range m.Names {
		s := m.Services[n]
		if s.Role != "" {
			continue
		}
		if len(s.Dependents) > 0 {
			s.Role, s.Reason = RoleBackend, fmt.Sprintf("%s %s on it", quoteList(s.Dependents), plural(len(s.Dependents), "waits", "wait"))
		} else {
			s.Role, s.Reason = RoleApp, "nothing waits on it"
		}
	}
}

// WaitersWith returns the services that wait on target with cond, sorted.
func (m *Model) WaitersWith(target, cond string) []string {
	var by []string
	for _, d := range m.Services[target].Dependents {
		for _, e := range m.Services[d].Deps {
			if e.To == target && e.Condition == cond {
				by = append(by, d)
			}
		}
	}
	return by
}

// HasHealthcheck reports whether the service defines an enabled healthcheck
// in its compose configuration.
func HasHealthcheck(sc types.ServiceConfig) bool {
	hc := sc.HealthCheck
	if hc == nil || hc.Disable {
		return false
	}
	return len(hc.Test) > 0 && hc.Test[0] != "NONE"
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// criticalPath finds the init at the deepest stage (first by name on a tie)
// and walks back through its deepest dependency.
func (m *Model) criticalPath() {
	var end *Service
	for _, n := range m.Names {
		s := m.Services[n]
		if s.Role == RoleInit && (end == nil || s.Stage > end.Stage) {
			end = s
		}
	}
	var path []string
	for s := end; s != nil; {
		path = append([]string{s.Name}, path...)
		var next *Service
		for _, e := range s.Deps {
			d := m.Services[e.To]
			if next == nil || d.Stage > next.Stage {
				next = d
			}
		}
		s = next
	}
	m.CriticalPath = path
}

// Inits returns the init services, sorted by name.
func (m *Model) Inits() []*Service { return m.withRole(RoleInit) }

func (m *Model) withRole(r Role) []*Service {
	var out []*Service
	for _, n := range m.Names {
		if m.Services[n].Role == r {
			out = append(out, m.Services[n])
		}
	}
	return out
}

// Validate checks what compose-go leaves to `up`: that file-based secrets
// and configs exist and that labels name a known role.
func (m *Model) Validate() error { return m.validate(true) }

// ValidateInContainer is Validate for a command that runs inside one of the
// project's containers (provision as an init): the secrets and configs are
// the container's own copies there, not the files the project names, which
// need not exist (on a remote engine they never do).
func (m *Model) ValidateInContainer() error { return m.validate(false) }

func (m *Model) validate(files bool) error {
	var problems []string
	for _, n := range m.Names {
		s := m.Services[n]
		if r := s.Config.Labels[RoleLabel]; r != "" && r != string(RoleInit) && r != string(RoleBackend) && r != string(RoleApp) {
			problems = append(problems, fmt.Sprintf("%s: service %q: label %s=%q is not one of init, backend, app", m.Index.Key(n, "labels", RoleLabel), n, RoleLabel, r))
		}
	}
	for _, n := range m.Names {
		if s := m.Services[n]; s.Hook == nil && s.Config.ContainerName != "" && s.Config.GetScale() > 1 {
			problems = append(problems, fmt.Sprintf("%s: service %q has container_name %q and %d replicas; a container name is unique, so remove container_name or run one replica (compose refuses it too)",
				m.Index.Key(n, "container_name"), n, s.Config.ContainerName, s.Config.GetScale()))
		}
	}
	// Two enabled services with one container_name: compose refuses them
	// too (a container name is unique on an engine).
	byName := map[string][]string{}
	for _, n := range m.Names {
		if s := m.Services[n]; s.Hook == nil && s.Config.ContainerName != "" {
			byName[s.Config.ContainerName] = append(byName[s.Config.ContainerName], n)
		}
	}
	for _, cn := range slices.Sorted(maps.Keys(byName)) {
		if users := byName[cn]; len(users) > 1 {
			problems = append(problems, fmt.Sprintf("%s: services %s have the same container_name %q; container names must be unique, rename one",
				m.Index.Key(users[1], "container_name"), quoteList(users), cn))
		}
	}
	for _, kind := range []string{"secrets", "configs"} {
		if !files {
			break
		}
		defs := map[string]types.FileObjectConfig{}
		if kind == "secrets" {
			for k, v := range m.Project.Secrets {
				defs[k] = types.FileObjectConfig(v)
			}
		} else {
			for k, v := range m.Project.Configs {
				defs[k] = types.FileObjectConfig(v)
			}
		}
		names := slices.Sorted(maps.Keys(defs))
		for _, name := range names {
			d := defs[name]
			if d.File == "" || bool(d.External) {
				continue
			}
			if err := fileobj.Check(d.File); err != nil {
				var users []string
				for _, sn := range m.Names {
					if s := m.Services[sn]; s.Hook == nil && usesFileObject(s.Config, kind, name) {
						users = append(users, sn)
					}
				}
				loc, _ := m.Index.TopLevel(kind, name)
				what := "does not exist"
				fix := "create it or fix the path"
				if !errors.Is(err, fs.ErrNotExist) {
					// A FIFO would block every reader, /dev/zero never end.
					what, fix = "cannot be used: "+err.Error(), "point it at a regular file of at most 1 MiB"
				}
				problems = append(problems, fmt.Sprintf("%s: %s %q: file %s %s (used by %s); %s",
					loc, strings.TrimSuffix(kind, "s"), name, d.File, what, quoteListOr(users, "no service"), fix))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(problems, "; "), ErrInvalidProject)
	}
	return nil
}

func quoteListOr(names []string, none string) string {
	if len(names) == 0 {
		return none
	}
	return "services " + quoteList(names)
}

func usesFileObject(sc types.ServiceConfig, kind, name string) bool {
	refs := sc.Secrets
	if kind == "configs" {
		refs = nil
		for _, c := range sc.Configs {
			refs = append(refs, types.ServiceSecretConfig(c))
		}
	}
	for _, r := range refs {
		if r.Source == name {
			return true
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Select is the model of `docker compose up SERVICE...`: the services named
// and, unless noDeps, every service they depend on, transitively (a service
// disabled by its profile is enabled by being named, as in compose). Each
// keeps its hooks, and the role and reason it has in the whole project. An
// unknown name is an error that names it.
func (m *Model) Select(names []string, noDeps bool) (*Model, error) {
	p := m.Project
	all := map[string]types.ServiceConfig{}
	maps.Copy(all, p.DisabledServices)
	maps.Copy(all, p.Services)
	keep := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if keep[n] {
			return
		}
		keep[n] = true
		if noDeps {
			return
		}
		for _, t := range slices.Sorted(maps.Keys(all[n].DependsOn)) {
			if _, ok := p.Services[t]; ok {
				visit(t)
			}
		}
	}
	for _, n := range names {
		if _, ok := all[n]; !ok {
			return nil, fmt.Errorf("no such service: %q (the project has %s): %w", n, strings.Join(slices.Sorted(maps.Keys(p.Services)), ", "), ErrInvalidProject)
		}
		visit(n)
	}
	sub := *p
	sub.Services = types.Services{}
	sub.DisabledServices = types.Services{}
	for n, sc := range all {
		if keep[n] {
			sub.Services[n] = sc
		} else if _, on := p.Services[n]; !on {
			sub.DisabledServices[n] = sc
		}
	}
	sm, err := newModel(&sub, m.Files, m.EnvFiles)
	if err != nil {
		return nil, err
	}
	sm.Index = m.Index
	for n, s := range sm.Services {
		if full, ok := m.Services[n]; ok {
			s.Role, s.Reason, s.Location = full.Role, full.Reason, full.Location
		}
	}
	return sm, nil
}

// SetScale sets a service's number of containers (docker compose up
// --scale SERVICE=N), overriding scale and deploy.replicas.
func (m *Model) SetScale(service string, n int) error {
	s, ok := m.Services[service]
	if !ok || s.Hook != nil {
		return fmt.Errorf("--scale %s=%d: no such service: %q: %w", service, n, service, ErrInvalidProject)
	}
	if n < 0 {
		return fmt.Errorf("--scale %s=%d: the number of containers cannot be negative: %w", service, n, ErrInvalidProject)
	}
	sc := m.Project.Services[service]
	sc.SetScale(n)
	m.Project.Services[service] = sc
	s.Config = sc
	return nil
}
