//go:build e2e

package e2e

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// upWith runs `up` of a file of the hooks fixture with one tool.
func upWith(t *testing.T, tool int, p, file string, extra ...string) (int, string) {
	t.Helper()
	f := filepath.Join(fixture("e2e-hooks"), file)
	if tool == 0 {
		out, err := dockerCompose(t, append([]string{"-f", f, "-p", p, "up", "-d"}, extra...)...)
		if err != nil {
			return 1, out
		}
		return 0, out
	}
	r := infra(t, append([]string{"up", "-f", f, "-p", p}, extra...)...)
	return r.code, r.stdout + r.stderr
}

// containerStates is "service=state" for each of the project's service
// containers (not hook runners), sorted.
func containerStates(t *testing.T, p string) string {
	t.Helper()
	h := observeHooks(t, p, 0, "")
	var out []string
	for s, st := range h.state {
		out = append(out, s+"="+st)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestE2EUpFlagsAsCompose: SERVICE arguments, --no-deps and
// --remove-orphans (and the orphan warning without it), each run through
// docker compose v5.6.0 and infractl in the same test, compared.
func TestE2EUpFlagsAsCompose(t *testing.T) {
	tests := []struct {
		name  string
		steps [][]string // file, then flags
		want  string
		warn  string // in the last step's output
	}{
		{"SERVICE runs it and what it depends on", [][]string{{"compose.yaml", "app"}}, "app=running db=running", ""},
		{"--no-deps runs only the service named", [][]string{{"compose.yaml", "--no-deps", "app"}}, "app=running", ""},
		{"orphans get a warning and stay", [][]string{{"compose.yaml"}, {"orphans.yaml"}}, "app=running db=running web=running", "orphan"},
		{"--remove-orphans removes them", [][]string{{"compose.yaml"}, {"orphans.yaml", "--remove-orphans"}}, "db=running", ""},
	}
	// --no-recreate: a changed definition keeps the container.
	t.Run("--no-recreate keeps a changed service's container", func(t *testing.T) {
		for tool := range hookTools {
			p := hooksProject(t, tool)
			code, out := hookTools[tool].up(t, p, nil)
			first := observeHooks(t, p, code, out)
			code, out = hookTools[tool].up(t, p, []string{"GREETING=changed"}, "--no-recreate")
			h := observeHooks(t, p, code, out)
			if code != 0 || h.ids["app"] != first.ids["app"] || h.state["app"] != "running" || h.runs != 1 {
				t.Errorf("%s: exit %d, app %.12s -> %.12s (%s), hook 0 ran %d times; want 0, kept running, once",
					hookTools[tool].name, code, first.ids["app"], h.ids["app"], h.state["app"], h.runs)
			}
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for tool := range hookTools {
				p := hooksProject(t, tool)
				var code int
				var out string
				for _, s := range tt.steps {
					code, out = upWith(t, tool, p, s[0], s[1:]...)
				}
				got[hookTools[tool].name] = containerStates(t, p)
				if code != 0 || got[hookTools[tool].name] != tt.want {
					t.Errorf("%s: exit %d, %s; want 0, %s", hookTools[tool].name, code, got[hookTools[tool].name], tt.want)
				}
				if tt.warn != "" && !strings.Contains(strings.ToLower(out), tt.warn) {
					t.Errorf("%s: no %q warning in:\n%s", hookTools[tool].name, tt.warn, out)
				}
			}
		})
	}
}
