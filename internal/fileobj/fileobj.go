// Package fileobj reads the files behind a project's secrets and configs
// the one safe way: only a regular file, never more than MaxSize bytes, and
// without blocking on a FIFO or a device a path may name (a secret whose
// file is a FIFO would hang every command; /dev/zero would fill memory).
package fileobj

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxSize bounds a secret's or config's file (1 MiB; Docker Swarm allows
// 500 KiB for its secrets and configs).
const MaxSize = 1 << 20

// ErrNotRegular means the path names something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge means the file is larger than MaxSize.
var ErrTooLarge = errors.New("larger than 1 MiB")

// Check reports why path cannot be read as a secret or config file, or nil.
// It does not read the file's content.
func Check(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return checkInfo(st)
}

func checkInfo(st os.FileInfo) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode()))
	}
	if st.Size() > MaxSize {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, st.Size())
	}
	return nil
}

// Read returns the content of the regular file at path, at most MaxSize
// bytes. The file is opened without blocking (a FIFO swapped in after the
// check cannot hang it) and checked again once open.
func Read(path string) ([]byte, error) {
	if err := Check(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkInfo(st); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, ErrTooLarge
	}
	return b, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}
