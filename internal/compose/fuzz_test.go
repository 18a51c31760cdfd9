package compose

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzLoad: any compose file either loads into a consistent model or is
// refused with an error; never a panic. A loaded model's names are sorted,
// every edge points at a node, and every node has a stage. Its seed corpus
// (testdata/fuzz/FuzzLoad) runs with every go test.
func FuzzLoad(f *testing.F) {
	for _, fx := range []string{"chain", "e2e-hooks", "e2e-real-world-inits", "broken-cycle", "broken-undefined-dep"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "compose", fx, "compose.yaml")); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    pre_start: [{command: [\"true\"]}]\n")
	f.Add("services:\n  a: {image: x, deploy: {replicas: 3}, restart: on-failure:2}\n")
	f.Fuzz(func(t *testing.T, yaml string) {
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(t.Context(), Options{Files: []string{file}, ProjectName: "fuzz"})
		if err != nil {
			return
		}
		if !slices.IsSorted(m.Names) {
			t.Fatalf("names not sorted: %v", m.Names)
		}
		staged := map[string]bool{}
		for _, st := range m.Stages {
			for _, n := range st {
				staged[n] = true
			}
		}
		for _, n := range m.Names {
			s := m.Services[n]
			if s == nil || !staged[n] {
				t.Fatalf("%q: no node or no stage", n)
			}
			for _, e := range s.Deps {
				if m.Services[e.To] == nil {
					t.Fatalf("%q depends on %q, which is no node", n, e.To)
				}
			}
		}
		_ = m.Validate()
	})
}
