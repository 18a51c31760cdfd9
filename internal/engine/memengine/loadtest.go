package memengine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/infractl/infractl/internal/compose"
)

// LoadYAML writes a compose file into a temporary folder and loads it as
// docker compose would, for tests of up and verify on the in-memory engine.
func LoadYAML(t testing.TB, project, yaml string) *compose.Model {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{file}, ProjectName: project})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
