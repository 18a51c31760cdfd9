package lint

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/redact"
)

// Finding is one rule violation.
type Finding struct {
	Rule     string   `json:"rule"`
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Service  string   `json:"service,omitempty"`
	// File is absolute; renderers show it relative to the project folder.
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

type checker struct {
	m        *compose.Model
	findings []Finding
}

func (c *checker) add(id, service string, loc compose.Location, format string, args ...any) {
	r, _ := RuleByID(id)
	if loc.Line == 0 {
		loc.Column = 0
	}
	c.findings = append(c.findings, Finding{
		Rule: r.ID, Name: r.Name, Severity: r.Severity, Service: service,
		File: loc.File, Line: loc.Line, Column: loc.Column,
		Message: fmt.Sprintf(format, args...), Fix: r.Fix,
	})
}

// Check runs every rule on the model and returns the findings that are not
// suppressed, sorted by file, line, column and rule.
func Check(m *compose.Model) []Finding {
	c := &checker{m: m}
	lokiInStack := false
	for _, n := range m.Names {
		if l := m.Services[n].Config.Logging; l != nil && l.Driver == "loki" {
			lokiInStack = true
		}
	}
	for _, n := range m.Names {
		s := m.Services[n]
		if s.Hook != nil {
			// A hook's own command and environment are linted like an
			// init's (what it inherits is linted on its service).
			h := hookService(s)
			c.secretsInEnv(h)
			c.commands(h)
			continue
		}
		c.secretsInEnv(s)
		c.secretTargets(s)
		c.ipLiterals(s)
		for _, e := range s.Deps {
			if e.Condition == compose.ConditionHealthy && !compose.HasHealthcheck(m.Services[e.To].Config) && m.Services[e.To].Hook == nil {
				c.add("INF003", n, c.dep(n, e.To), "service %q waits on %q with service_healthy, but %q has no healthcheck", n, e.To, e.To)
			}
		}
		if s.Role != compose.RoleInit {
			continue
		}
		if s.Config.Restart != types.RestartPolicyNo {
			r := s.Config.Restart
			if r == "" {
				c.add("INF001", n, s.Location, "init service %q does not set restart: \"no\"", n)
			} else {
				c.add("INF001", n, m.Index.Key(n, "restart"), "init service %q has restart: %q", n, r)
			}
		}
		if rp := compose.Restart(s.Config); rp.Mode == compose.RestartOnFailure {
			c.add("INF015", n, m.Index.Key(n, strings.Split(rp.Key, ".")...), "init %q has %s: %q: the engine retries it after a failure", n, rp.Key, rp.String())
		}
		for _, e := range s.Deps {
			t := m.Services[e.To]
			if e.Condition == compose.ConditionStarted && t.Role == compose.RoleBackend {
				c.add("INF002", n, c.dep(n, e.To), "init %q waits on backend %q with service_started, not service_healthy", n, e.To)
			}
			if !sharesNetwork(s.Config, t.Config) {
				c.add("INF009", n, c.dep(n, e.To), "init %q shares no network with %q, so Docker DNS cannot resolve %q from it", n, e.To, e.To)
			}
		}
		for _, v := range s.Config.Volumes {
			switch v.Type {
			case types.VolumeTypeBind:
				if !v.ReadOnly {
					c.add("INF007", n, c.volume(n, v.Target), "bind mount %s into init %q is writable", v.Target, n)
				}
			case types.VolumeTypeVolume:
				c.add("INF008", n, c.volume(n, v.Target), "init %q mounts the named volume %q", n, v.Source)
			}
		}
		c.commands(s)
		c.scripts(s)
		if len(m.WaitersWith(n, compose.ConditionCompleted)) == 0 {
			c.add("INF013", n, s.Location, "nothing waits on init %q with service_completed_successfully", n)
		}
		if w := m.Services[n].Dependents; len(w) == 1 && len(m.WaitersWith(n, compose.ConditionCompleted)) == 1 {
			if ws := m.Services[w[0]]; ws.Role != compose.RoleInit && ws.Hook == nil {
				c.add("INF016", n, s.Location, "init %q serves only %q, which waits for it to complete: it could be a pre_start hook of %q", n, w[0], w[0])
			}
		}
		if lokiInStack && (s.Config.Logging == nil || s.Config.Logging.Driver != "loki") {
			c.add("INF014", n, s.Location, "init %q does not use the loki logging driver the stack uses", n)
		}
	}
	out := c.suppress()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
	return out
}

func (c *checker) dep(service, target string) compose.Location {
	return c.m.Index.Key(service, "depends_on", target)
}

// volume locates a volume entry by the scalar that mentions its target.
func (c *checker) volume(service, target string) compose.Location {
	return c.scalar(service, "volumes", func(v string) bool {
		return v == target || strings.Contains(v, ":"+target) || strings.HasSuffix(v, target)
	})
}

// scalar returns the first scalar under the key that matches, else the key.
func (c *checker) scalar(service, key string, match func(string) bool) compose.Location {
	var found compose.Location
	c.m.Index.Scalars(service, func(loc compose.Location, _ []string, v string) {
		if found.Line == 0 && match(v) {
			found = loc
		}
	}, key)
	if found.Line != 0 {
		return found
	}
	return c.m.Index.Key(service, key)
}

// hookService is a pre_start hook as a service of its own: its command,
// entrypoint and the environment it declares (not what it inherits).
func hookService(s *compose.Service) *compose.Service {
	svc := s.Config
	spec := svc.PreStart[s.Hook.Index].ContainerSpec
	env := types.MappingWithEquals{}
	for k, v := range spec.Environment {
		if sv, ok := svc.Environment[k]; !ok || (sv == nil) != (v == nil) || sv != nil && *sv != *v {
			env[k] = v
		}
	}
	var sc types.ServiceConfig
	sc.Name, sc.Command, sc.Entrypoint, sc.Environment = s.Name, spec.Command, spec.Entrypoint, env
	if len(sc.Entrypoint) > 0 && slices.Equal(sc.Entrypoint, svc.Entrypoint) {
		sc.Entrypoint = nil
	}
	return &compose.Service{Name: s.Name, Role: compose.RoleInit, Hook: s.Hook, Config: sc}
}

// INF004: credentials in environment values and command flags.
var secretFlag = regexp.MustCompile(`(?i)--?(password|passwd|pass|secret|token|api[-_]?key|access[-_]?key|secret[-_]?key|private[-_]?key)(=|\s+)(\S+)`)

func (c *checker) secretsInEnv(s *compose.Service) {
	names := slices.Sorted(maps.Keys(s.Config.Environment))
	for _, k := range names {
		v := s.Config.Environment[k]
		if v == nil || *v == "" {
			continue
		}
		upper := strings.ToUpper(k)
		if strings.HasSuffix(upper, "_FILE") {
			base := strings.TrimSuffix(upper, "_FILE")
			if redact.IsCredentialName(base) && !strings.HasPrefix(*v, "/run/secrets/") {
				c.add("INF004", s.Name, c.m.Index.Key(s.Name, "environment", k), "%s points at %s, not at a secret under /run/secrets/", k, *v)
			}
			continue
		}
		if redact.IsCredentialName(k) {
			c.add("INF004", s.Name, c.m.Index.Key(s.Name, "environment", k), "environment variable %s holds a plaintext credential (%s)", k, redact.Mask)
		} else if slices.ContainsFunc(redact.URLPasswords(*v), func(pw string) bool { return !strings.HasPrefix(pw, "$") }) {
			// DATABASE_URL=postgres://app:pw@db/app: the name says nothing,
			// the URL holds a password.
			c.add("INF004", s.Name, c.m.Index.Key(s.Name, "environment", k), "environment variable %s holds a URL with a plaintext password (%s); read the password from a secret and build the URL in the command", k, redact.StripUserinfo(*v))
		}
	}
	for _, key := range []string{"command", "entrypoint"} {
		var args []string
		if key == "command" {
			args = s.Config.Command
		} else {
			args = s.Config.Entrypoint
		}
		line := strings.Join(args, " ")
		for _, m := range secretFlag.FindAllStringSubmatch(line, -1) {
			val := m[3]
			if strings.HasPrefix(val, "/run/secrets/") || strings.HasPrefix(val, "$") || strings.Contains(strings.ToLower(m[1]), "file") {
				continue
			}
			loc := c.scalar(s.Name, key, func(v string) bool { return strings.Contains(v, m[1]) })
			c.add("INF004", s.Name, loc, "%s passes a credential on the command line: --%s %s", key, m[1], redact.Mask)
		}
	}
}

// INF005: secrets outside /run/secrets.
func (c *checker) secretTargets(s *compose.Service) {
	for _, sec := range s.Config.Secrets {
		if sec.Target != "" && strings.HasPrefix(sec.Target, "/") && !strings.HasPrefix(sec.Target, "/run/secrets/") {
			loc := c.scalar(s.Name, "secrets", func(v string) bool { return v == sec.Target })
			c.add("INF005", s.Name, loc, "secret %q is mounted at %s, outside /run/secrets/", sec.Source, sec.Target)
		}
	}
}

// INF006: IP literals.
var (
	ipv4Re = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	ipv6Re = regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}`)
)

// ipLiterals returns the routable IP addresses written in s.
func ipLiterals(s string) []string {
	var out []string
	for _, cand := range append(ipv4Re.FindAllString(s, -1), ipv6Re.FindAllString(s, -1)...) {
		a, err := netip.ParseAddr(cand)
		if err != nil || a.IsLoopback() || a.IsUnspecified() {
			continue
		}
		if a.Is6() && strings.Count(cand, ":") < 2 {
			continue
		}
		out = append(out, cand)
	}
	return out
}

func (c *checker) ipLiterals(s *compose.Service) {
	sc := s.Config
	report := func(key, value string) {
		for _, ip := range ipLiterals(value) {
			loc := c.scalar(s.Name, key, func(v string) bool { return strings.Contains(v, ip) })
			c.add("INF006", s.Name, loc, "%s hard-codes the address %s", key, ip)
		}
	}
	names := slices.Sorted(maps.Keys(sc.Environment))
	for _, k := range names {
		if v := sc.Environment[k]; v != nil && !redact.IsCredentialName(k) {
			report("environment", *v)
		}
	}
	report("command", strings.Join(sc.Command, " "))
	report("entrypoint", strings.Join(sc.Entrypoint, " "))
	if sc.HealthCheck != nil {
		report("healthcheck", strings.Join(sc.HealthCheck.Test, " "))
	}
	for _, h := range sc.ExtraHosts.AsList(":") {
		report("extra_hosts", h)
	}
	for _, key := range slices.Sorted(maps.Keys(sc.Networks)) {
		n := sc.Networks[key]
		if n == nil {
			continue
		}
		if n.Ipv4Address != "" {
			c.add("INF006", s.Name, c.m.Index.Key(s.Name, "networks", key, "ipv4_address"), "network %q sets the static address %s", key, n.Ipv4Address)
		}
		if n.Ipv6Address != "" {
			c.add("INF006", s.Name, c.m.Index.Key(s.Name, "networks", key, "ipv6_address"), "network %q sets the static address %s", key, n.Ipv6Address)
		}
	}
}

func sharesNetwork(a, b types.ServiceConfig) bool {
	if a.NetworkMode != "" || b.NetworkMode != "" {
		return true // host, service:x, container:x: not ours to judge
	}
	nets := func(sc types.ServiceConfig) map[string]bool {
		m := map[string]bool{}
		for k := range sc.Networks {
			m[k] = true
		}
		if len(m) == 0 {
			m["default"] = true
		}
		return m
	}
	na, nb := nets(a), nets(b)
	for k := range na {
		if nb[k] {
			return true
		}
	}
	return false
}

// commands checks an init's own command and entrypoint as a script.
func (c *checker) commands(s *compose.Service) {
	for _, key := range []string{"entrypoint", "command"} {
		args := s.Config.Command
		if key == "entrypoint" {
			args = s.Config.Entrypoint
		}
		if len(args) == 0 {
			continue
		}
		text := strings.Join(args, " ")
		// A shell command: the argument after -c is the script.
		for i, a := range args {
			if a == "-c" && i+1 < len(args) {
				text = args[i+1]
			}
		}
		loc := c.m.Index.Key(s.Name, key)
		for _, p := range scanScript(text) {
			p.line = 0
			c.scriptProblem(s.Name, loc, key, p)
		}
		for _, a := range args {
			if a == "-x" && (args[0] == "sh" || args[0] == "bash" || strings.HasSuffix(args[0], "/sh") || strings.HasSuffix(args[0], "/bash")) {
				c.add("INF011", s.Name, loc, "%s runs the shell with -x, which prints every expanded command, secrets included", key)
			}
		}
	}
}

// scripts lints the scripts mounted into an init (read from the project).
func (c *checker) scripts(s *compose.Service) {
	for _, v := range s.Config.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		for _, f := range scriptFiles(v.Source) {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, p := range scanScript(string(data)) {
				c.scriptProblem(s.Name, compose.Location{File: f, Line: p.line, Column: p.col}, "", p)
			}
		}
	}
}

func (c *checker) scriptProblem(service string, loc compose.Location, key string, p problem) {
	where := "script " + filepath.Base(loc.File)
	if key != "" {
		where = key
	}
	c.add(p.rule, service, loc, "%s: %s", where, p.msg)
}

// scriptFiles lists shell scripts at path: the file itself, or the files
// under a folder (3 levels, 200 files, 256 KiB each at most).
func scriptFiles(path string) []string {
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		if isScript(path) {
			return []string{path}
		}
		return nil
	}
	var out []string
	base := strings.Count(path, string(os.PathSeparator))
	_ = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil || len(out) >= 200 {
			return filepath.SkipDir
		}
		if d.IsDir() && strings.Count(p, string(os.PathSeparator))-base > 3 {
			return filepath.SkipDir
		}
		if !d.IsDir() && isScript(p) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func isScript(p string) bool {
	if strings.HasSuffix(p, ".sh") || strings.HasSuffix(p, ".bash") {
		return true
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	head := string(buf[:n])
	return strings.HasPrefix(head, "#!") && (strings.Contains(head, "sh\n") || strings.Contains(head, "sh ") || strings.Contains(head, "bash"))
}

func (c *checker) scriptLines(file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return strings.Split(string(data), "\n")
}
