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

// TestE2EFilesInTheUsersCheckout: two projects run from one checkout keep
// separate logs (.infractl/<project>/logs), each run replaces its
// project's logs, git status stays clean, and no lock file is left after
// up, verify and down (#29).
func TestE2EFilesInTheUsersCheckout(t *testing.T) {
	dir := checkout(t, "chain")
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-qm", "the stack")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(infractl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("infractl %v: %v\n%s", args, err, out)
		}
	}
	for _, p := range []string{"files-a", "files-b"} {
		t.Cleanup(func() {
			_ = exec.Command(infractl, "down", "-v", "-p", p, "-f", filepath.Join(dir, "compose.yaml")).Run()
		})
		run("up", "-p", p)
	}
	for _, p := range []string{"files-a", "files-b"} {
		b, err := os.ReadFile(filepath.Join(dir, ".infractl", p, "logs", "init-1.log"))
		if err != nil || !strings.Contains(string(b), "init-1 provisioning") {
			t.Errorf("%s: its init-1 log: %v %q", p, err, b)
		}
	}
	// A log no run of the project wrote any more is gone after the next.
	stale := filepath.Join(dir, ".infractl", "files-a", "logs", "init-9.log")
	if err := os.WriteFile(stale, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("up", "-p", "files-a")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a previous run's log stays: %v", err)
	}
	if st := git("status", "--porcelain"); st != "" {
		t.Errorf("git status after up:\n%s", st)
	}
	run("verify", "-p", "files-a", "--rerun")
	run("down", "-p", "files-b")
	id := engineID(t)
	for _, p := range []string{"files-a", "files-b"} {
		if _, err := os.Lstat(lock.Path(lock.Dir(os.Getenv), id, p)); !os.IsNotExist(err) {
			t.Errorf("%s: a lock file is left: %v", p, err)
		}
	}
}
