package compose_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/compose"
)

// GenerateProject writes a root compose file that includes one file per
// component: each component has a backend with a healthcheck and an init
// gated on it; every fifth init also waits on the previous component's
// init to complete. n is the total number of services.
func generateProject(tb testing.TB, dir string, n int) string {
	tb.Helper()
	var root strings.Builder
	root.WriteString("name: generated\ninclude:\n")
	for c := 0; c < n/2; c++ {
		name := fmt.Sprintf("c%04d", c)
		var b strings.Builder
		fmt.Fprintf(&b, "services:\n  %s-db:\n    image: toolbox\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n", name)
		fmt.Fprintf(&b, "  %s-init:\n    image: toolbox\n    restart: \"no\"\n    depends_on:\n      %s-db: {condition: service_healthy}\n", name, name)
		if c > 0 && c%5 == 0 {
			fmt.Fprintf(&b, "      c%04d-init: {condition: service_completed_successfully, required: false}\n", c-1)
		}
		file := filepath.Join(dir, name+".yml")
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&root, "  - %s.yml\n", name)
	}
	rootFile := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(rootFile, []byte(root.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return rootFile
}

// BenchmarkLoad500 loads a generated 500-service root-only project (250
// includes) and builds the model: the cost of every plan, lint and up.
func BenchmarkLoad500(b *testing.B) {
	file := generateProject(b, b.TempDir(), 500)
	b.ReportAllocs()
	for b.Loop() {
		m, err := compose.Load(b.Context(), compose.Options{Files: []string{file}})
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Names) != 500 {
			b.Fatalf("loaded %d services", len(m.Names))
		}
	}
}

func TestGeneratedProjectLoads(t *testing.T) {
	file := generateProject(t, t.TempDir(), 40)
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(m.Inits()); got != 20 {
		t.Errorf("inits = %d, want 20", got)
	}
	if m.Services["c0005-init"].Stage != 2 {
		t.Errorf("c0005-init stage = %d, want 2", m.Services["c0005-init"].Stage)
	}
}
