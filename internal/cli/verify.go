package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/verify"
)

// VerifyOptions are what `infractl verify`'s flags fill.
type VerifyOptions struct {
	Verify verify.Options
	Output outputOptions
	Loki   lokiOptions
}

// newVerifyCommand builds `verify`; runF, when set, replaces running it.
func newVerifyCommand(f *Factory, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{}
	o, out := &opts.Verify, &opts.Output
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check a running stack's init phase: the CI gate (VAL-AUTO-001/002, VAL-SPC-101/102, the 60 s NFR)",
		Long: `verify checks the project as it runs now, whoever started it (docker compose
up -d or infractl up), and gives one verdict a CI job can gate on. Each
check carries its spec ID:

  VAL-AUTO-001      the project loads as 'docker compose config -q' would and
                    'infractl lint' has no errors
  VAL-AUTO-002      every init has a container that exited 0 ("never ran",
                    "still running", "failed (exit N)" and "stale" are
                    distinct); backends run and are healthy
  NFR-INIT-60S      each init finished within --max-init-seconds of its
                    targets being ready (engine timestamps)
  SEC-SPC-AUTO-001  no init log contains a secret value (shown redacted)
  VAL-SPC-101       --rerun: every init runs again in a fresh container and
                    exits 0 again (idempotency)
  VAL-SPC-102       --blocking (stops backends!): each init keeps waiting while
                    its targets are down, exits 0 once they are back, and exits
                    non-zero within --fail-fast-within when they never come;
                    the stack is restored as it was found, also on failure or
                    Ctrl-C
  VAL-SPC-103       --audit: every resource declared under x-infractl (buckets,
                    topics, roles, the Valkey cluster, indexes, dashboards)
                    exists in its backend as declared; a backend is reached
                    through the engine, on the project's network

With GITHUB_ACTIONS=true it also writes ::error annotations that point at the
service's compose file and line, and a Markdown summary to
$GITHUB_STEP_SUMMARY.`,
		Example: `  infractl verify
  infractl verify --rerun --junit verify.xml
  infractl verify --blocking --fail-fast-within 90s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(out.format, "text", "json"); err != nil {
				return err
			}
			if err := checkRanges(
				flagRange{name: "max-init-seconds", value: o.MaxInitSeconds, positive: true},
				flagRange{name: "grace", value: o.Grace.Seconds(), positive: true, unit: "s"},
				flagRange{name: "fail-fast-within", value: o.FailFastWithin.Seconds(), positive: true, unit: "s"},
				flagRange{name: "tail", value: float64(o.TailLines)},
			); err != nil {
				return err
			}
			if o.Blocking && f.Swarm() {
				// Swarm replaces a stopped task at once: the targets
				// cannot be held down to prove an init waits.
				return fmt.Errorf("--blocking is not supported with --orchestrator swarm: Swarm replaces a stopped task at once, so a target cannot be held down (run it against one engine)%w", usageSuffix)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runVerify(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.Float64Var(&o.MaxInitSeconds, "max-init-seconds", 60, "fail an init that finished this long or longer after its targets were ready (seed NFR: < 60 s)")
	fl.BoolVar(&o.Rerun, "rerun", false, "VAL-SPC-101: run every init again in a fresh container; each must exit 0 again")
	fl.BoolVar(&o.Blocking, "blocking", false, "VAL-SPC-102: stop each init's targets to prove it blocks and fails fast (disrupts the stack; restored afterwards)")
	fl.DurationVar(&o.Grace, "grace", 5*time.Second, "with --blocking: how long an init must keep waiting while its targets are down")
	fl.DurationVar(&o.FailFastWithin, "fail-fast-within", 120*time.Second, "with --blocking: an init must exit non-zero within this long when its targets never come")
	fl.BoolVar(&o.Audit, "audit", false, "VAL-SPC-103: check every declared resource (x-infractl) in its backend")
	fl.IntVar(&o.TailLines, "tail", 20, "log lines shown for a failed init")
	opts.Loki.addFlags(c, f, "loki", "check (SPEC-INFRA-03 §9) that each init's result of the current run is searchable in this Loki (http(s)://host:3100)")
	out.addFlags(c)
	return c
}

// runVerify is `infractl verify`: load, run the checks, print the verdict.
func runVerify(ctx context.Context, f *Factory, opts *VerifyOptions) error {
	o, out := opts.Verify, opts.Output
	lc, err := opts.Loki.client(f)
	if err != nil {
		return err
	}
	if lc != nil {
		o.Loki = lc
	}
	m, red, eng, err := f.prepareRun(ctx, out)
	if err != nil {
		return err
	}
	o.Redactor = red
	if o.Rerun || o.Blocking {
		// These change the stack (fresh containers, stopped backends).
		release, err := f.lock(ctx, eng, m.Project.Name, "verify")
		if err != nil {
			return err
		}
		defer release()
	}
	o.Progress = f.Streams.ErrOut
	v, err := verify.Run(ctx, eng, m, o)
	v.Endpoint = eng.Endpoint()
	warnIfLost(f, eng, err)
	if errors.Is(err, engine.ErrEngine) && !strings.Contains(err.Error(), v.Endpoint) {
		err = fmt.Errorf("engine %s: %w", v.Endpoint, err)
	}
	if errors.Is(err, verify.ErrNoContainers) {
		return fmt.Errorf("%w%w", err, silentErr{ErrChecksFailed})
	}
	if err != nil && len(v.Checks) == 0 {
		return err
	}
	if errors.Is(err, context.Canceled) {
		v.Interrupted = true
		v.Finish()
	}
	if f.Streams.Getenv("GITHUB_ACTIONS") == "true" {
		if gerr := githubOutput(f, m, v); gerr != nil {
			fmt.Fprintf(f.Streams.ErrOut, "warning: GitHub summary: %v\n", gerr)
		}
	}
	werr := f.writeVerdict(v, out)
	if err != nil {
		return err
	}
	return werr
}

func githubOutput(f *Factory, m *compose.Model, v report.Verdict) error {
	locate := func(service string) (string, int) {
		loc, ok := m.Index.Service(service)
		if !ok {
			return "", 0
		}
		file := loc.File
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, file); err == nil {
				file = r
			}
		}
		return file, loc.Line
	}
	if err := report.WriteGitHubAnnotations(f.Streams.Out, v, locate); err != nil {
		return err
	}
	path := f.Streams.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := report.WriteMarkdownSummary(file, v); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
