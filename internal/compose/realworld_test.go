package compose_test

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/compose"
)

// realWorldCase is one of testdata/realworld: a published compose file and
// its hand-labelled truth (service -> "init" or "long").
type realWorldCase struct {
	name  string
	file  string
	truth map[string]string
}

func realWorldCases(t *testing.T) []realWorldCase {
	t.Helper()
	root := filepath.Join("..", "..", "testdata", "realworld")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var cases []realWorldCase
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(root, d.Name())
		c := realWorldCase{name: d.Name(), truth: map[string]string{}}
		files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
		if len(files) != 1 {
			t.Fatalf("%s: want one compose file, found %v", dir, files)
		}
		c.file, _ = filepath.Abs(files[0])
		f, err := os.Open(filepath.Join(dir, "truth.txt"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			if len(fields) < 3 || fields[0] != "init" && fields[0] != "long" {
				t.Fatalf("%s/truth.txt: %q: want `init|long SERVICE reason`", dir, sc.Text())
			}
			c.truth[fields[1]] = fields[0]
		}
		f.Close()
		cases = append(cases, c)
	}
	return cases
}

// TestRealWorldDiscovery: discovery against hand-labelled public stacks,
// every profile enabled. A long-running service called an init is a
// failure (precision 1.0); recall must stay at or above 0.9.
func TestRealWorldDiscovery(t *testing.T) {
	cases := realWorldCases(t)
	withInits, repos := 0, map[string]bool{}
	var tp, fp, fn int
	var missed []string
	for _, c := range cases {
		m, err := compose.Load(t.Context(), compose.Options{Files: []string{c.file}, Profiles: []string{"*"}})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var names []string
		for n := range m.Services {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) != len(c.truth) {
			t.Errorf("%s: %d services, truth labels %d", c.name, len(names), len(c.truth))
		}
		hasInit := false
		for _, n := range names {
			s := m.Services[n]
			want, ok := c.truth[n]
			if !ok {
				t.Errorf("%s: service %q has no truth label", c.name, n)
				continue
			}
			got := s.Role == compose.RoleInit
			hasInit = hasInit || want == "init"
			switch {
			case got && want == "init":
				tp++
			case got:
				fp++
				t.Errorf("%s: %q is long-running but discovery calls it an init: %s", c.name, n, s.Reason)
			case want == "init":
				fn++
				missed = append(missed, c.name+"/"+n+" ("+string(s.Role)+": "+s.Reason+")")
			}
		}
		if hasInit {
			withInits++
		}
		repos[c.name] = true
	}
	recall := float64(tp) / float64(tp+fn)
	precision := 1.0
	if tp+fp > 0 {
		precision = float64(tp) / float64(tp+fp)
	}
	t.Logf("%d cases (%d with one-shot inits): recall %.3f (%d of %d), precision %.3f", len(cases), withInits, recall, tp, tp+fn, precision)
	for _, m := range missed {
		t.Logf("missed: %s", m)
	}
	if withInits < 20 {
		t.Errorf("%d cases with inits, want at least 20", withInits)
	}
	if recall < 0.9 {
		t.Errorf("recall %.3f, want at least 0.9", recall)
	}
	if precision < 1 {
		t.Errorf("precision %.3f, want 1.0", precision)
	}
}
