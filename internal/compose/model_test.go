package compose

import (
	"strings"
	"testing"
)

// up SERVICE...: the services named and what they depend on; --no-deps
// the named only; hooks go with their service; roles are the project's.
func TestSelect(t *testing.T) {
	m, err := Load(t.Context(), Options{Files: []string{"../../testdata/compose/e2e-hooks/compose.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Select([]string{"web"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names, " "); got != "app app/pre_start[0] app/pre_start[1] db web" {
		t.Errorf("web with its dependencies: %s", got)
	}
	s, err = m.Select([]string{"app"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names, " "); got != "app app/pre_start[0] app/pre_start[1]" {
		t.Errorf("app --no-deps: %s", got)
	}
	if s.Services["app"].Role != m.Services["app"].Role {
		t.Errorf("app's role %s, the project's %s", s.Services["app"].Role, m.Services["app"].Role)
	}
	if _, err := m.Select([]string{"nope"}, false); err == nil || !strings.Contains(err.Error(), `no such service: "nope"`) {
		t.Errorf("unknown service: %v", err)
	}
}
