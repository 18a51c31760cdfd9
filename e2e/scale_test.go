//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// workers are the project's worker containers, sorted.
func workers(t *testing.T, p string) string {
	t.Helper()
	cs, err := projectContainers(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, strings.TrimPrefix(c.Names[0], "/")+"="+string(c.State))
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// TestE2EScaleDownAsCompose: scaling 3 -> 1 by --scale and by editing
// deploy.replicas leaves one replica (the first), with docker compose
// v5.6.0 and infractl alike, in the same test.
func TestE2EScaleDownAsCompose(t *testing.T) {
	dir := fixture("e2e-scale")
	three, one := filepath.Join(dir, "compose.yaml"), filepath.Join(dir, "one.yaml")
	results := map[string][]string{}
	for _, tool := range []string{"compose", "infractl"} {
		p := "e2e-scale-" + tool
		t.Cleanup(func() { _ = exec.Command(infractl, "down", "-p", p).Run() })
		up := func(file string, extra ...string) {
			t.Helper()
			if tool == "compose" {
				if out, err := dockerCompose(t, append([]string{"-f", file, "-p", p, "up", "-d"}, extra...)...); err != nil {
					t.Fatalf("compose up: %v\n%s", err, out)
				}
			} else if r := infra(t, append([]string{"up", "-f", file, "-p", p}, extra...)...); r.code != 0 {
				t.Fatalf("infractl up: exit %d\n%s", r.code, r.stderr)
			}
			results[tool] = append(results[tool], strings.ReplaceAll(workers(t, p), tool, "TOOL"))
		}
		up(three)
		up(three, "--scale", "worker=1")
		up(three)
		up(one)
	}
	want := []string{
		"e2e-scale-TOOL-worker-1=running e2e-scale-TOOL-worker-2=running e2e-scale-TOOL-worker-3=running",
		"e2e-scale-TOOL-worker-1=running",
		"e2e-scale-TOOL-worker-1=running e2e-scale-TOOL-worker-2=running e2e-scale-TOOL-worker-3=running",
		"e2e-scale-TOOL-worker-1=running",
	}
	for tool, got := range results {
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s, step by step:\n%s\nwant:\n%s", tool, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestE2EExitCodeFromAsCompose: up --exit-code-from SERVICE exits with that
// service's exit code, as docker compose v5.6.0 does in the same test.
func TestE2EExitCodeFromAsCompose(t *testing.T) {
	file := filepath.Join(fixture("e2e-exit-code"), "compose.yaml")
	for _, tool := range []string{"compose", "infractl"} {
		p := "e2e-exit-code-" + tool
		t.Cleanup(func() { _ = exec.Command(infractl, "down", "-p", p).Run() })
		code := 0
		if tool == "compose" {
			cmd := exec.Command("docker", "compose", "-f", file, "-p", p, "up", "--exit-code-from", "tests")
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+composeConfig())
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else {
					t.Fatal(err)
				}
			}
		} else {
			code = infra(t, "up", "-f", file, "-p", p, "--exit-code-from", "tests").code
		}
		if code != 7 {
			t.Errorf("%s up --exit-code-from tests: exit %d, want 7", tool, code)
		}
	}
}
