// Package lock keeps two infractl runs that change one project on one
// engine from running at once on this machine (two concurrent `up`s would
// each create the project's network and blame each other's inits). The
// lock is a file lock (flock), so a run that dies releases it with its
// process; the file says who holds it.
//
// Where it lives: $XDG_RUNTIME_DIR/infractl, else /run/infractl for root,
// else the user's cache folder (os.UserCacheDir)/infractl/locks. The
// folder must be a real folder of this user that nobody else can write;
// the file is opened without following links and never truncated. A lock
// is keyed on the engine's identity (its ID from /info, not the spelling
// of its address) and the project's name, hashed, so any name compose
// accepts fits in a file name.
package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrBusy means another run holds the project's lock.
var ErrBusy = errors.New("the project is busy")

// ErrLock means the lock could not be taken (an unsafe folder, a link in
// its place, an unwritable folder).
var ErrLock = errors.New("cannot take the project's lock")

// recordSize is the holder record written at the start of the file: the
// file is never truncated, the record is overwritten in place.
const recordSize = 256

// Dir is where the lock files live, for the environment getenv reads.
func Dir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "infractl")
	}
	if os.Geteuid() == 0 {
		if st, err := os.Stat("/run"); err == nil && st.IsDir() {
			return "/run/infractl"
		}
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "infractl", "locks")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("infractl-%d", os.Geteuid()))
}

// Path is the lock file of project on the engine whose ID is engineID.
func Path(dir, engineID, project string) string {
	sum := sha256.Sum256([]byte(engineID + "\x00" + project))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".lock")
}

// Acquire takes the lock of project on the engine engineID (shown as
// endpoint in messages) for command, in dir, or fails at once with ErrBusy
// naming the run that holds it, or ErrLock. release frees it.
func Acquire(dir, engineID, endpoint, project, command string) (release func(), err error) {
	if err := safeDir(dir); err != nil {
		return nil, err
	}
	path := Path(dir, engineID, project)
	// A file removed by the run that held it between our open and our
	// lock is not the lock any more: open it again (a few times).
	for attempt := 0; ; attempt++ {
		f, err := openFile(path)
		if err != nil {
			if isLinkError(err) {
				return nil, fmt.Errorf("lock file %s is a symbolic link; infractl does not follow it: remove it and run again: %w", path, ErrLock)
			}
			return nil, fmt.Errorf("lock file %s: %w: %w", path, err, ErrLock)
		}
		st, err := f.Stat()
		if err == nil && (!st.Mode().IsRegular() || !ownedByMe(st)) {
			err = errors.New("not a regular file of this user")
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock file %s: %v; remove it and run again: %w", path, err, ErrLock)
		}
		busy, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock file %s: %w: %w", path, err, ErrLock)
		}
		if busy {
			holder := make([]byte, recordSize)
			n, _ := f.ReadAt(holder, 0)
			f.Close()
			who := strings.TrimSpace(strings.ReplaceAll(string(holder[:n]), "\x00", ""))
			if who == "" {
				who = "another infractl run"
			}
			return nil, fmt.Errorf("project %q on %s is being changed by %s; wait for it to finish (or stop it) and run again: %w", project, endpoint, who, ErrBusy)
		}
		if now, err := os.Lstat(path); err != nil || !os.SameFile(now, st) {
			unlock(f)
			f.Close()
			if attempt < 5 {
				continue
			}
			return nil, fmt.Errorf("lock file %s keeps changing under infractl: %w", path, ErrLock)
		}
		writeRecord(f, fmt.Sprintf("infractl %s of %q (pid %d, since %s)", command, shorten(project), os.Getpid(), time.Now().Format(time.TimeOnly)))
		return func() {
			// Removed while still held, so no lock file is left behind
			// and no one can hold the removed one (see the check above).
			if removable {
				_ = os.Remove(path)
			} else {
				writeRecord(f, "")
			}
			unlock(f)
			f.Close()
		}, nil
	}
}

// writeRecord overwrites the holder record in place, padded with spaces.
func writeRecord(f io.WriterAt, s string) {
	if len(s) > recordSize-1 {
		s = s[:recordSize-1]
	}
	_, _ = f.WriteAt([]byte(s+strings.Repeat(" ", recordSize-1-len(s))+"\n"), 0)
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// safeDir makes dir (0700) and checks that it is a folder of this user
// that no one else can write: a folder someone else made or can write
// could hold a link that turns the lock into a write elsewhere.
func safeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("lock folder %s: %w (set XDG_RUNTIME_DIR to a folder of yours): %w", dir, err, ErrLock)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("lock folder %s: %w: %w", dir, err, ErrLock)
	}
	switch {
	case !st.IsDir():
		return fmt.Errorf("lock folder %s is not a folder (a link?); remove it, or set XDG_RUNTIME_DIR to a folder of yours: %w", dir, ErrLock)
	case !ownedByMe(st):
		return fmt.Errorf("lock folder %s belongs to another user; remove it, or set XDG_RUNTIME_DIR to a folder of yours: %w", dir, ErrLock)
	case checksMode && st.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("lock folder %s can be written by others (mode %v); chmod 700 it, or set XDG_RUNTIME_DIR to a folder of yours: %w", dir, st.Mode().Perm(), ErrLock)
	}
	return nil
}
