//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestE2ERealWorldLoadsAsComposeDoes: every published compose file of
// testdata/realworld, every profile on, is accepted by infractl exactly
// when docker compose config -q accepts it.
func TestE2ERealWorldLoadsAsComposeDoes(t *testing.T) {
	root := filepath.Join(repo, "testdata", "realworld")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(root, d.Name(), "*.y*ml"))
		if len(files) != 1 {
			t.Fatalf("%s: want one compose file, found %v", d.Name(), files)
		}
		n++
		_, cerr := dockerCompose(t, "-f", files[0], "--profile", "*", "config", "-q")
		r := infra(t, "plan", "-f", files[0], "--profile", "*")
		if (cerr == nil) != (r.code == 0) {
			t.Errorf("%s: docker compose config -q: %v; infractl plan: exit %d %s", d.Name(), cerr, r.code, r.stderr)
		}
	}
	if n < 20 {
		t.Errorf("%d cases, want at least 20", n)
	}
}
