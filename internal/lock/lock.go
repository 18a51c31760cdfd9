// Package lock keeps two infractl runs that change one project on one
// engine from running at once on this machine (two concurrent `up`s would
// each create the project's network and blame each other's inits). The
// lock is a file lock (flock), so a run that dies releases it with its
// process; the file says who holds it.
package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrBusy means another run holds the project's lock.
var ErrBusy = errors.New("the project is busy")

// Dir is where the lock files live.
func Dir() string { return filepath.Join(os.TempDir(), "infractl-locks") }

// Acquire takes the lock of project on the engine at endpoint for command,
// or fails at once with ErrBusy naming the run that holds it. release
// frees it.
func Acquire(endpoint, project, command string) (release func(), err error) {
	if err := os.MkdirAll(Dir(), 0o777); err != nil {
		return nil, fmt.Errorf("lock folder: %w", err)
	}
	// The host alone: "unix:///var/run/docker.sock (from default)" and the
	// same host chosen another way are one engine.
	if f := strings.Fields(endpoint); len(f) > 0 {
		endpoint = f[0]
	}
	sum := sha256.Sum256([]byte(endpoint + "\x00" + project))
	path := filepath.Join(Dir(), project+"-"+hex.EncodeToString(sum[:6])+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another infractl run"
		}
		return nil, fmt.Errorf("project %q on %s is being changed by %s; wait for it to finish (or stop it) and run again: %w", project, endpoint, who, ErrBusy)
	}
	_ = f.Truncate(0)
	fmt.Fprintf(f, "infractl %s (pid %d, since %s)\n", command, os.Getpid(), time.Now().Format(time.TimeOnly))
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
