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

// composeV2 runs the docker compose v2 built by `make tools`.
func composeV2(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cfg := os.Getenv("INFRACTL_COMPOSE_DOCKER_CONFIG")
	if cfg == "" {
		cfg = filepath.Join(repo, ".tools", "docker")
	}
	if _, err := os.Stat(filepath.Join(cfg, "cli-plugins", "docker-compose")); err != nil {
		t.Fatalf("docker compose v2 is missing: run `make tools` (make e2e does): %v", err)
	}
	cmd := exec.Command("docker", append([]string{"compose"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
	out, err := cmd.CombinedOutput()
	t.Logf("docker compose %s:\n%s", strings.Join(args, " "), out)
	return string(out), err
}

// TestE2EComposeInterop: docker compose sees infractl's containers as its
// own, and infractl down removes what docker compose created.
func TestE2EComposeInterop(t *testing.T) {
	flags := project(t, "chain")
	if r := infra(t, args("up", flags)...); r.code != 0 {
		t.Fatalf("up: exit %d\n%s", r.code, r.stdout)
	}
	out, err := composeV2(t, append(flags, "ps", "-a", "--format", "{{.Service}}")...)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(out)
	sort.Strings(got)
	if want := "app backend init-1 init-2 init-3 init-4"; strings.Join(got, " ") != want {
		t.Errorf("compose ps -a lists %v, want %s", got, want)
	}
	if r := infra(t, args("down", flags)...); r.code != 0 {
		t.Fatalf("down: exit %d", r.code)
	}

	if _, err := composeV2(t, append(flags, "up", "-d")...); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := projectResources(t, projectName(flags)); c != 6 {
		t.Errorf("compose created %d containers, want 6", c)
	}
	r := infra(t, args("down", flags)...)
	if r.code != 0 {
		t.Fatalf("down: exit %d", r.code)
	}
	if c, n, _ := projectResources(t, projectName(flags)); c+n != 0 {
		t.Errorf("after infractl down: %d containers, %d networks left", c, n)
	}
}
