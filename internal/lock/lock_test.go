package lock

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestASecondRunOfTheProjectIsRefusedUntilTheFirstEnds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	release, err := Acquire(dir, "engine-A", "unix:///var/run/docker.sock", "shop", "up")
	if err != nil {
		t.Fatal(err)
	}
	// The same engine reached through another spelling of its address.
	_, err = Acquire(dir, "engine-A", "unix:///run/docker.sock", "shop", "down")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), `infractl up of "shop" (pid `) {
		t.Fatalf("second run: %v, want busy naming the first", err)
	}
	// Another project, or the same name on another engine, is not held.
	for _, o := range [][2]string{{"engine-A", "other"}, {"engine-B", "shop"}} {
		r, err := Acquire(dir, o[0], "x", o[1], "up")
		if err != nil {
			t.Errorf("%s on %s: %v", o[1], o[0], err)
		} else {
			r()
		}
	}
	release()
	r, err := Acquire(dir, "engine-A", "x", "shop", "down")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r()
}

// Any name compose accepts fits: the file name is a hash.
func TestALongProjectNameFits(t *testing.T) {
	dir := t.TempDir()
	name := strings.Repeat("a", 251)
	r, err := Acquire(dir, "engine-A", "x", name, "down")
	if err != nil {
		t.Fatal(err)
	}
	r()
}

// A link planted at the lock's path is not followed and what it points at
// is left as it was; the file is never truncated.
func TestAPlantedLinkIsNotFollowed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, Path(dir, "engine-A", "shop")); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(dir, "engine-A", "x", "shop", "up")
	if !errors.Is(err, ErrLock) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("got %v, want ErrLock naming the link", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Fatalf("the link's target changed: %q", b)
	}
}

func TestAFolderOthersCanWriteIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(dir, "engine-A", "x", "shop", "up")
	if !errors.Is(err, ErrLock) || !strings.Contains(err.Error(), "can be written by others") {
		t.Fatalf("got %v, want ErrLock", err)
	}
}

func TestTheFolderIsTheUsersRuntimeFolder(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}
	if got := Dir(func(k string) string { return env[k] }); got != "/run/user/1000/infractl" {
		t.Errorf("Dir = %s", got)
	}
	env = map[string]string{"XDG_RUNTIME_DIR": "relative"}
	if got := Dir(func(k string) string { return env[k] }); strings.HasPrefix(got, "relative") || strings.HasPrefix(got, os.TempDir()+"/infractl-locks") {
		t.Errorf("Dir = %s: a relative XDG_RUNTIME_DIR is ignored, and the old shared folder is never used", got)
	}
}

// No lock file is left once the run ends, and a run that opened the file
// before it was removed does not take the removed one.
func TestTheLockFileIsRemovedWhenTheRunEnds(t *testing.T) {
	dir := t.TempDir()
	r, err := Acquire(dir, "engine-A", "x", "shop", "up")
	if err != nil {
		t.Fatal(err)
	}
	path := Path(dir, "engine-A", "shop")
	stale, err := os.Open(path) // a second run opened it just before the end
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	r()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("the lock file is still there: %v", err)
	}
	// The next run takes a new file, and holds it against another.
	r2, err := Acquire(dir, "engine-A", "x", "shop", "up")
	if err != nil {
		t.Fatal(err)
	}
	defer r2()
	if _, err := Acquire(dir, "engine-A", "x", "shop", "down"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third run: %v, want busy", err)
	}
}
