//go:build unix

package fileobj

import (
	"path/filepath"
	"syscall"
	"testing"
)

const devZero = "/dev/zero"

func makeFIFO(t *testing.T, dir string) string {
	t.Helper()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return fifo
}
