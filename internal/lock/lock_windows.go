//go:build windows

package lock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// removable: Windows cannot remove a file another process holds open; the
// lock file stays (its record is cleared).
const removable = false

// checksMode: access is an ACL matter on Windows; the folder is under the
// user's own profile.
const checksMode = false

// openFile opens the lock file, refusing a link in its place.
func openFile(path string) (*os.File, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return nil, errLink
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

var errLink = errors.New("a symbolic link")

func isLinkError(err error) bool { return errors.Is(err, errLink) }

// tryLock takes the file's exclusive lock without waiting; busy means
// another process holds it.
func tryLock(f *os.File) (busy bool, err error) {
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

func unlock(f *os.File) {
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

// ownedByMe: the folder and file live under the user's own profile.
func ownedByMe(os.FileInfo) bool { return true }
