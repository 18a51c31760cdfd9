//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// TestE2EUpBuildsMissingImages: a service with build: whose image is
// missing is built through the Engine API's classic builder (.dockerignore,
// args and target honoured), its pre_start hook runs on the built image; a
// second up does not rebuild, --build does.
func TestE2EUpBuildsMissingImages(t *testing.T) {
	flags := project(t, "e2e-build")
	img := projectName(flags) + "-seed"
	_, _ = docker.ImageRemove(t.Context(), img, client.ImageRemoveOptions{Force: true})
	t.Cleanup(func() { _, _ = docker.ImageRemove(t.Context(), img, client.ImageRemoveOptions{Force: true}) })

	r := infra(t, args("up", flags, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("up: exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "build seed: Successfully tagged "+img) {
		t.Errorf("no build output on stderr:\n%s", r.stderr)
	}
	s := service(t, verdict(t, r.stdout), "seed")
	logs, err := os.ReadFile(s.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	// args and target applied, the hook ran on the built image, and the
	// context left out what .dockerignore excludes.
	if got, want := strings.TrimSpace(string(logs)), "built-by-infractl\nbuilt-by-infractl\nDockerfile\nkept.txt"; got != want {
		t.Errorf("seed's log:\n%s\nwant:\n%s", got, want)
	}
	r = infra(t, args("up", flags)...)
	if r.code != 0 || strings.Contains(r.stderr, "build seed:") {
		t.Errorf("second up: exit %d, rebuilt: %v", r.code, strings.Contains(r.stderr, "build seed:"))
	}
	r = infra(t, args("up", flags, "--build")...)
	if r.code != 0 || !strings.Contains(r.stderr, "build seed: Successfully tagged") {
		t.Errorf("up --build: exit %d, rebuilt: %v", r.code, strings.Contains(r.stderr, "build seed:"))
	}
}

// TestE2EUpRefusesBadBuildsAndHooks: a missing build context, a build key
// the classic builder cannot honour, a hook with per_replica or a key
// infractl cannot run, --scale of an unknown service: one line naming the
// service and key, exit 2, and nothing is created.
func TestE2EUpRefusesBadBuildsAndHooks(t *testing.T) {
	const job = "services:\n  job:\n    image: infractl/toolbox:latest\n    command: [\"true\"]\n"
	for _, tt := range []struct {
		name, yaml, want string
		extra            []string
	}{
		{"missing context", job + "    build: {context: ./nowhere}\n    image: infractl-e2e/never-built:latest\n", `service "job": build.context`, nil},
		{"unsupported build key", job + "    build: {context: ., ssh: [default]}\n    image: infractl-e2e/never-built:latest\n", `service "job": build.ssh cannot be built`, nil},
		{"per_replica hook", job + "    pre_start:\n      - {command: [\"true\"], per_replica: true}\n", `pre_start[0].per_replica`, nil},
		{"hook with an unsupported key", job + "    pre_start:\n      - {command: [\"true\"], pid: host}\n", `pre_start[0].pid`, nil},
		{"scale of an unknown service", job, `--scale nope=2: no such service: "nope"`, []string{"--scale", "nope=2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "compose.yaml")
			yaml := strings.Replace(tt.yaml, "    image: infractl/toolbox:latest\n    command: [\"true\"]\n    build:", "    command: [\"true\"]\n    build:", 1)
			if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM infractl/toolbox:latest\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(t.Name(), "/", "-"), "_", "-"))
			if len(p) > 50 {
				p = p[:50]
			}
			r := infra(t, append([]string{"up", "-f", file, "-p", p}, tt.extra...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and one line with %q", r.code, r.stderr, tt.want)
			}
			if c, n, v := projectResources(t, p); c+n+v != 0 {
				t.Errorf("left %d containers, %d networks, %d volumes", c, n, v)
			}
		})
	}
}

// TestE2EDownRemovesLocalImages: down --rmi local removes the image built
// for a service without image: (named <project>-<service>, as docker
// compose names it) and leaves the images with a custom tag; --rmi all
// would take those too (#29).
func TestE2EDownRemovesLocalImages(t *testing.T) {
	flags := project(t, "e2e-build")
	img := projectName(flags) + "-seed"
	t.Cleanup(func() { _, _ = docker.ImageRemove(t.Context(), img, client.ImageRemoveOptions{Force: true}) })
	if r := infra(t, args("up", flags)...); r.code != 0 {
		t.Fatalf("up: exit %d\n%s", r.code, r.stderr)
	}
	r := infra(t, args("down", flags, "--rmi", "local")...)
	if r.code != 0 || !strings.Contains(r.stderr, "removed image "+img) {
		t.Fatalf("down --rmi local: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := docker.ImageInspect(t.Context(), img); err == nil {
		t.Errorf("%s is still there after down --rmi local", img)
	}
	if _, err := docker.ImageInspect(t.Context(), "infractl/toolbox:latest"); err != nil {
		t.Errorf("the base image with a custom tag was removed: %v", err)
	}
	if r := infra(t, args("down", flags, "--rmi", "some")...); r.code != 2 || !strings.Contains(r.stderr, `--rmi "some": want local or all`) {
		t.Errorf("down --rmi some: exit %d\n%s", r.code, r.stderr)
	}
}
