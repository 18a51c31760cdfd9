//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/lock"
)

// TestE2EDownByNameNeedsNoFile: as with docker compose, down -p NAME works
// with no compose file, and when the file no longer loads; everything the
// project labelled goes, nothing else.
func TestE2EDownByNameNeedsNoFile(t *testing.T) {
	for _, tt := range []struct{ name, file string }{
		{"no compose file", ""},
		{"a file that no longer loads", "services:\n  db: [not, a, service\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			flags := project(t, "chain")
			p := projectName(flags)
			if r := infra(t, args("up", flags)...); r.code != 0 {
				t.Fatalf("up: exit %d\n%s", r.code, r.stdout)
			}
			// Something else on the engine, not the project's.
			other := exec.Command("docker", "run", "-d", "--name", p+"-bystander", "infractl/toolbox:latest", "sleep", "3600")
			if out, err := other.CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", p+"-bystander").Run() })
			dir := t.TempDir()
			args := []string{"down", "-v", "-p", p}
			if tt.file != "" {
				f := filepath.Join(dir, "compose.yaml")
				if err := os.WriteFile(f, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-f", f)
			}
			cmd := exec.Command(infractl, args...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("down -p %s: %v\n%s", p, err, out)
			}
			if !strings.Contains(string(out), "removing everything labelled com.docker.compose.project="+p) {
				t.Errorf("down does not say what it removes:\n%s", out)
			}
			if c, n, v := projectResources(t, p); c+n+v != 0 {
				t.Errorf("left %d containers, %d networks, %d volumes", c, n, v)
			}
			if err := exec.Command("docker", "inspect", p+"-bystander").Run(); err != nil {
				t.Errorf("the bystander container was removed: %v", err)
			}
		})
	}
}

// TestE2EConcurrentRunsOfAProjectAreRefused: while a run changes the
// project (the lock is held), a second `up` or `down` exits 4 naming the
// first and creates nothing; once it ends, they run.
func TestE2EConcurrentRunsOfAProjectAreRefused(t *testing.T) {
	flags := project(t, "chain")
	p := projectName(flags)
	release, err := lock.Acquire(lock.Dir(os.Getenv), engineID(t), docker.DaemonHost(), p, "e2e-holder")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"up", "down"} {
		r := infra(t, args(cmd, flags)...)
		if r.code != 4 || !strings.Contains(r.stderr, "is being changed by infractl e2e-holder of") {
			t.Errorf("%s while held: exit %d, stderr:\n%s", cmd, r.code, r.stderr)
		}
	}
	if c, n, v := projectResources(t, p); c+n+v != 0 {
		t.Errorf("a refused run left %d containers, %d networks, %d volumes", c, n, v)
	}
	release()
	if r := infra(t, args("up", flags)...); r.code != 0 {
		t.Errorf("up after the holder ended: exit %d\n%s", r.code, r.stderr)
	}
}
