package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/engine"
)

func TestDecide(t *testing.T) {
	ours := func(hash string) map[string]string {
		return map[string]string{engine.LabelProject: "p", engine.LabelConfigHash: hash}
	}
	hashes := []string{"h-now", "h-compose"}
	tests := []struct {
		name     string
		existing *engine.Existing
		policy   engine.Policy
		want     engine.Decision
	}{
		{"no container", nil, engine.KeepUnchanged, engine.Create},
		{"running and unchanged", &engine.Existing{Labels: ours("h-now"), Running: true}, engine.KeepUnchanged, engine.Keep},
		{"unchanged, written by a compose release", &engine.Existing{Labels: ours("h-compose"), Running: true}, engine.KeepUnchanged, engine.Keep},
		{"changed", &engine.Existing{Labels: ours("h-old"), Running: true}, engine.KeepUnchanged, engine.Recreate},
		{"unchanged but stopped", &engine.Existing{Labels: ours("h-now")}, engine.KeepUnchanged, engine.Recreate},
		{"unchanged but run fresh (an init)", &engine.Existing{Labels: ours("h-now"), Running: true}, engine.Fresh, engine.Recreate},
		{"no hash label", &engine.Existing{Labels: map[string]string{engine.LabelProject: "p"}, Running: true}, engine.KeepUnchanged, engine.Recreate},
		{"another project's", &engine.Existing{Labels: map[string]string{engine.LabelProject: "other", engine.LabelConfigHash: "h-now"}, Running: true}, engine.KeepUnchanged, engine.Conflict},
		{"made by hand", &engine.Existing{Running: true}, engine.KeepUnchanged, engine.Conflict},
		{"made by hand, stopped, fresh", &engine.Existing{}, engine.Fresh, engine.Conflict},
		{"changed, --no-recreate", &engine.Existing{Labels: ours("h-old"), Running: true}, engine.KeepExisting, engine.Keep},
		{"stopped, --no-recreate", &engine.Existing{Labels: ours("h-old")}, engine.KeepExisting, engine.Keep},
		{"made by hand, --no-recreate", &engine.Existing{Running: true}, engine.KeepExisting, engine.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := engine.Decide(tt.existing, "p", hashes, tt.policy); got != tt.want {
				t.Errorf("Decide = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestConflictErrorNamesObjectAndOwner(t *testing.T) {
	err := engine.ConflictError("container", "db", "postgres", map[string]string{engine.LabelProject: "shop"})
	for _, want := range []string{`container "db"`, `service "postgres"`, `project "shop"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
	if !errors.Is(err, engine.ErrConflict) || !errors.Is(err, engine.ErrUnsupported) {
		t.Errorf("%v is not a conflict and an unsupported project", err)
	}
	if strings.Contains(engine.ConflictError("network", "n", "", nil).Error(), "compose project \"") {
		t.Error("a hand-made object is said to have a project")
	}
}

func TestStateDefinitions(t *testing.T) {
	tests := []struct {
		name                                              string
		s                                                 engine.State
		neverStarted, finished, succeeded, healthy, ready bool
	}{
		{"created", engine.State{}, true, false, false, false, false},
		{"running, no healthcheck", engine.State{Running: true}, false, false, false, false, true},
		{"running, starting", engine.State{Running: true, Health: engine.HealthStarting}, false, false, false, false, false},
		{"running, healthy", engine.State{Running: true, Health: engine.HealthHealthy}, false, false, false, true, true},
		{"running, unhealthy", engine.State{Running: true, Health: engine.HealthUnhealthy}, false, false, false, false, false},
		{"exited 0", engine.State{Exited: true}, false, true, true, false, false},
		{"exited 3", engine.State{Exited: true, ExitCode: 3}, false, true, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			got := []bool{s.NeverStarted(), s.Finished(), s.Succeeded(), s.Healthy(), s.Ready()}
			want := []bool{tt.neverStarted, tt.finished, tt.succeeded, tt.healthy, tt.ready}
			for i, n := range []string{"NeverStarted", "Finished", "Succeeded", "Healthy", "Ready"} {
				if got[i] != want[i] {
					t.Errorf("%s = %v, want %v", n, got[i], want[i])
				}
			}
		})
	}
}

func TestReuseNetworkAndVolume(t *testing.T) {
	ours := map[string]string{engine.LabelProject: "p", engine.LabelNetwork: "default"}
	if err := engine.ReuseNetwork("p_default", "default", "p", ours); err != nil {
		t.Errorf("own network refused: %v", err)
	}
	for _, labels := range []map[string]string{nil, {engine.LabelProject: "q"}, {engine.LabelProject: "p", engine.LabelNetwork: "back"}} {
		if err := engine.ReuseNetwork("p_default", "default", "p", labels); !errors.Is(err, engine.ErrConflict) {
			t.Errorf("network labelled %v: err = %v, want a conflict", labels, err)
		}
	}
	if w, err := engine.ReuseVolume("p_data", "p", map[string]string{engine.LabelProject: "p"}); w != "" || err != nil {
		t.Errorf("own volume: %q %v", w, err)
	}
	if w, err := engine.ReuseVolume("p_data", "p", nil); err != nil || !strings.Contains(w, `"p_data"`) {
		t.Errorf("hand-made volume: %q %v, want a warning naming it", w, err)
	}
	if _, err := engine.ReuseVolume("p_data", "p", map[string]string{engine.LabelProject: "q"}); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("another project's volume: %v, want a conflict", err)
	}
}
