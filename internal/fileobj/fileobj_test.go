package fileobj

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOnlyARegularFileOfBoundedSizeIsRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.txt")
	if err := os.WriteFile(ok, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := makeFIFO(t, dir)
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", MaxSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(ok); err != nil || string(b) != "pw\n" {
		t.Errorf("Read(ok) = %q, %v", b, err)
	}
	for _, tt := range []struct {
		path string
		want error
		says string
	}{
		{fifo, ErrNotRegular, "named pipe"},
		{devZero, ErrNotRegular, "character device"},
		{dir, ErrNotRegular, "folder"},
		{big, ErrTooLarge, "1 MiB"},
	} {
		if tt.path == "" {
			continue // not on this platform
		}
		// Read never blocks on the FIFO and never reads /dev/zero.
		if _, err := Read(tt.path); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("Read(%s) = %v, want %v saying %q", tt.path, err, tt.want, tt.says)
		}
	}
}
