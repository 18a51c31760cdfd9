//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// dockerCompose runs the docker compose (v5.6.0) built by `make tools`.
func dockerCompose(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return dockerComposeEnv(t, nil, args...)
}

// dockerComposeEnv runs it with env added to the environment.
func dockerComposeEnv(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cfg := composeConfig()
	if _, err := os.Stat(filepath.Join(cfg, "cli-plugins", "docker-compose")); err != nil {
		t.Fatalf("docker compose is missing: run `make tools` (make e2e does): %v", err)
	}
	cmd := exec.Command("docker", append([]string{"compose"}, args...)...)
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+cfg), env...)
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
	out, err := dockerCompose(t, append(flags, "ps", "-a", "--format", "{{.Service}}")...)
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

	if _, err := dockerCompose(t, append(flags, "up", "-d")...); err != nil {
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

// TestE2EComposeInteropKeepsUnchangedContainers: on the demo stack (binds,
// secrets, configs, several networks, healthchecks), the config hash
// infractl computes for each service is the one docker compose v5.6.0
// wrote; infractl up keeps the backends compose started, and compose up
// then recreates nothing infractl created.
func TestE2EComposeInteropKeepsUnchangedContainers(t *testing.T) {
	demo := fixture("demo")
	env := filepath.Join(demo, ".env.example")
	flags := project(t, "demo", "--env-file", env)
	p := projectName(flags)
	if _, err := dockerCompose(t, append(flags, "up", "-d")...); err != nil {
		t.Fatal(err)
	}
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{filepath.Join(demo, "compose.yaml")}, ProjectName: p, EnvFiles: []string{env}, Env: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := projectContainers(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(m.Names) {
		t.Fatalf("compose created %d containers, want %d", len(cs), len(m.Names))
	}
	for _, c := range cs {
		svc := c.Labels[engine.LabelService]
		want, err := engine.ServiceHash(m.Project.Services[svc])
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Labels[engine.LabelConfigHash]; got != want {
			t.Errorf("%s: docker compose wrote config hash %s, infractl computes %s", svc, got, want)
		}
	}

	byCompose := containerIDs(t, p)
	r := infra(t, args("up", flags, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("infractl up after docker compose up: exit %d\n%s", r.code, r.stdout)
	}
	byInfractl := containerIDs(t, p)
	for _, s := range verdict(t, r.stdout).Services {
		if s.Role == "init" {
			continue
		}
		if byInfractl[s.Name] != byCompose[s.Name] || !s.Reused {
			t.Errorf("infractl up recreated %s, which docker compose had started unchanged", s.Name)
		}
	}

	if _, err := dockerCompose(t, append(flags, "up", "-d")...); err != nil {
		t.Fatal(err)
	}
	for svc, id := range containerIDs(t, p) {
		if id != byInfractl[svc] {
			t.Errorf("docker compose up recreated %s, which infractl had created unchanged", svc)
		}
	}
}

// composeConfig is the DOCKER_CONFIG that holds docker compose v5.6.0.
func composeConfig() string {
	if cfg := os.Getenv("INFRACTL_COMPOSE_DOCKER_CONFIG"); cfg != "" {
		return cfg
	}
	return filepath.Join(repo, ".tools", "docker")
}
