package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/lock"
)

// The commands' flags are tested through their runF seam: the options
// they fill, with no engine and no project.
func TestUpFlagsFillTheOptions(t *testing.T) {
	var got *UpOptions
	f := &Factory{Connect: func(context.Context) (engine.Engine, error) {
		t.Fatal("the engine was opened")
		return nil, nil
	}}
	c := newUpCommand(f, func(_ context.Context, o *UpOptions) error { got = o; return nil })
	c.SetArgs([]string{"--parallel", "2", "--timeout", "90s", "--ready-timeout", "1m", "--probe-interval", "0", "--tail", "5", "--max-init-seconds", "30", "--format", "json", "--junit", "out.xml", "--trace", "t.jsonl"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	o := got.Up
	if o.Parallel != 2 || o.InitTimeout != 90*time.Second || o.ReadyTimeout != time.Minute || o.ProbeInterval != 0 || o.TailLines != 5 || o.MaxInitSeconds != 30 {
		t.Errorf("up options %+v", o)
	}
	if got.Output.format != "json" || got.Output.junit != "out.xml" || got.TraceFile != "t.jsonl" {
		t.Errorf("output %+v, trace %q", got.Output, got.TraceFile)
	}
}

func TestUpDefaults(t *testing.T) {
	var got *UpOptions
	c := newUpCommand(&Factory{}, func(_ context.Context, o *UpOptions) error { got = o; return nil })
	c.SetArgs(nil)
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	o := got.Up
	if o.Parallel != 0 || o.InitTimeout != 10*time.Minute || o.ReadyTimeout != 3*time.Minute || o.ProbeInterval != 250*time.Millisecond || o.TailLines != 20 || o.MaxInitSeconds != 60 || got.Output.format != "text" {
		t.Errorf("defaults %+v %+v", o, got.Output)
	}
}

func TestVerifyFlagsFillTheOptions(t *testing.T) {
	var got *VerifyOptions
	c := newVerifyCommand(&Factory{}, func(_ context.Context, o *VerifyOptions) error { got = o; return nil })
	c.SetArgs([]string{"--rerun", "--blocking", "--grace", "2s", "--fail-fast-within", "45s", "--audit", "--max-init-seconds", "10"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	o := got.Verify
	if !o.Rerun || !o.Blocking || !o.Audit || o.Grace != 2*time.Second || o.FailFastWithin != 45*time.Second || o.MaxInitSeconds != 10 {
		t.Errorf("verify options %+v", o)
	}
}

func TestAnUnknownFormatIsAUsageErrorBeforeAnythingRuns(t *testing.T) {
	for _, build := range []func() error{
		func() error {
			c := newUpCommand(&Factory{}, func(context.Context, *UpOptions) error { t.Error("up ran"); return nil })
			c.SetArgs([]string{"--format", "xml"})
			return c.Execute()
		},
		func() error {
			c := newVerifyCommand(&Factory{}, func(context.Context, *VerifyOptions) error { t.Error("verify ran"); return nil })
			c.SetArgs([]string{"--format", "yaml"})
			return c.Execute()
		},
	} {
		err := build()
		if !errors.Is(err, ErrUsage) || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "unknown --format") {
			t.Errorf("err = %v (exit %d), want a usage error", err, ExitCode(err))
		}
	}
}

// docker compose up's flags, with compose's meaning.
func TestUpTakesComposeUpFlags(t *testing.T) {
	var got *UpOptions
	f := &Factory{Connect: func(context.Context) (engine.Engine, error) {
		t.Fatal("the engine was opened")
		return nil, nil
	}}
	c := newUpCommand(f, func(_ context.Context, o *UpOptions) error { got = o; return nil })
	c.SetArgs([]string{"api", "worker", "--no-deps", "--force-recreate", "--remove-orphans", "-d", "--wait-timeout", "2m", "--scale", "api=3", "--scale", "worker=0"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Services, ",") != "api,worker" || strings.Join(got.Scale, ",") != "api=3,worker=0" || !got.NoDeps || !got.Up.ForceRecreate || !got.Up.RemoveOrphans || got.WaitTimeout != 2*time.Minute {
		t.Errorf("options %+v (up %+v)", got, got.Up)
	}
	for _, bad := range [][]string{{"--wait-timeout", "-1s"}, {"--scale", "api"}, {"--scale", "api=-1"}, {"--scale", "=2"}, {"--scale", "api=two"},
		{"--parallel", "-1"}, {"--timeout", "0s"}, {"--timeout", "-5s"}, {"--ready-timeout", "0s"}, {"--probe-interval", "-1ms"}, {"--tail", "-3"}, {"--max-init-seconds", "0"}} {
		c = newUpCommand(f, func(_ context.Context, o *UpOptions) error { t.Errorf("ran with %v", bad); return nil })
		c.SetArgs(bad)
		if err := c.Execute(); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
}

// Out-of-range numbers are usage errors before anything runs, naming the
// flag and what it takes.
func TestVerifyRefusesOutOfRangeFlags(t *testing.T) {
	f := &Factory{Connect: func(context.Context) (engine.Engine, error) {
		t.Fatal("the engine was opened")
		return nil, nil
	}}
	for _, bad := range [][]string{{"--max-init-seconds", "-1"}, {"--grace", "0s"}, {"--fail-fast-within", "-1s"}, {"--tail", "-1"}} {
		c := newVerifyCommand(f, func(context.Context, *VerifyOptions) error { t.Errorf("ran with %v", bad); return nil })
		c.SetArgs(bad)
		err := c.Execute()
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), bad[0]+" ") || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%v: %v, want a usage error naming the flag", bad, err)
		}
	}
}

// Lock trouble has its own exit code (#25 item 13), distinct from "the
// init phase failed" (1) and a usage error (2).
func TestLockFailuresExit4(t *testing.T) {
	for _, err := range []error{fmt.Errorf("project busy: %w", lock.ErrBusy), fmt.Errorf("a link: %w", lock.ErrLock)} {
		if got := ExitCode(err); got != ExitLocked {
			t.Errorf("ExitCode(%v) = %d, want 4", err, got)
		}
	}
}

// docker compose's CI line works as written: --wait is accepted (infractl
// always waits) and --wait-timeout takes seconds as compose's int flag
// does, or a duration.
func TestUpTakesComposesWaitFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"-d", "--wait", "--wait-timeout", "120"}, 2 * time.Minute},
		{[]string{"--wait-timeout", "90s"}, 90 * time.Second},
		{[]string{"--wait-timeout", "0"}, 0},
	} {
		var got *UpOptions
		c := newUpCommand(&Factory{}, func(_ context.Context, o *UpOptions) error { got = o; return nil })
		c.SetArgs(tt.args)
		if err := c.Execute(); err != nil || got == nil || got.WaitTimeout != tt.want {
			t.Errorf("%v: %v, wait timeout %v, want %v", tt.args, err, got, tt.want)
		}
	}
}
