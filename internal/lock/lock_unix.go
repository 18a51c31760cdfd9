//go:build unix

package lock

import (
	"errors"
	"os"
	"syscall"
)

// removable: a lock file is removed when its run ends (flock on an inode
// the next run can tell apart).
const removable = true

// checksMode: the folder's mode bits say who can write it.
const checksMode = true

// openFile opens the lock file without following a link, without blocking
// on a FIFO, and without truncating it.
func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
}

func isLinkError(err error) bool { return errors.Is(err, syscall.ELOOP) }

// tryLock takes the file's exclusive lock without waiting; busy means
// another process holds it.
func tryLock(f *os.File) (busy bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

func ownedByMe(st os.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(s.Uid) == os.Geteuid()
}
