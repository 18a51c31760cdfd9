package lock

import (
	"errors"
	"strings"
	"testing"
)

func TestASecondRunOfTheProjectIsRefusedUntilTheFirstEnds(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	release, err := Acquire("unix:///var/run/docker.sock", "shop", "up")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire("unix:///var/run/docker.sock", "shop", "down")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "infractl up (pid ") {
		t.Fatalf("second run: %v, want busy naming the first", err)
	}
	// Another project, or the same name on another engine, is not held.
	for _, o := range [][2]string{{"unix:///var/run/docker.sock", "other"}, {"tcp://build:2376", "shop"}} {
		r, err := Acquire(o[0], o[1], "up")
		if err != nil {
			t.Errorf("%s on %s: %v", o[1], o[0], err)
		} else {
			r()
		}
	}
	release()
	r, err := Acquire("unix:///var/run/docker.sock", "shop", "down")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r()
}
