// Package cli is infractl's command line: cobra commands that fill an options
// struct and call one function of a domain package. Main is the only place
// that exits; Run is the testable entry point.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/lock"
)

// Exit codes, documented in `infractl --help` and the README.
const (
	ExitOK          = 0   // everything passed
	ExitFailed      = 1   // the init phase or a check failed
	ExitUsage       = 2   // the project does not load, or bad usage
	ExitEngine      = 3   // the Docker engine is unreachable, or infrastructure error
	ExitLocked      = 4   // another run holds the project's lock, or the lock cannot be taken
	ExitInterrupted = 130 // Ctrl-C
)

// ErrChecksFailed means infractl ran fine and found failures (exit 1).
var ErrChecksFailed = errors.New("checks failed")

// ErrUsage marks a usage mistake (exit 2).
var ErrUsage = errors.New("usage error")

// ErrOutput marks an output infractl was asked to write and could not
// (--junit, --trace): a usage problem, exit 2, not the engine's.
var ErrOutput = errors.New("cannot write output")

// Main runs infractl with the process's arguments and streams and exits.
func Main() {
	streams := SystemStreams()
	ctx, stop := notifyContext(streams)
	err := Run(ctx, streams, os.Args[1:])
	interrupted := ctx.Err() != nil
	stop()
	code := ExitCode(err)
	if interrupted && code != ExitOK {
		code = ExitInterrupted
	}
	// A bare ErrChecksFailed means the verdict was printed; so does an
	// interruption (its verdict says INTERRUPTED), which needs no ERROR.
	var sc ServiceExitCode
	if err != nil && err != ErrChecksFailed && !errors.As(err, &sc) && !(interrupted && errors.Is(err, context.Canceled)) { //nolint:errorlint // see above
		fmt.Fprintf(streams.ErrOut, "ERROR: %s\n", Message(err))
	}
	os.Exit(code)
}

// Signals end a run as Ctrl-C does: SIGINT, SIGTERM, and SIGHUP (a closed
// terminal or SSH session, a CI runner's hang-up), which would otherwise
// kill infractl with nothing cleaned up and no verdict.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// notifyContext is cancelled by the first signal; a second one exits at
// once (130), as docker compose does, for a user who will not wait for the
// clean-up.
func notifyContext(streams IOStreams) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, Signals...)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(streams.ErrOut, "ERROR: interrupted again: exiting now, without the clean-up (inits this run started may still run; infractl down removes them)")
			os.Exit(ExitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// Message is the one line printed after "ERROR:". It strips the category
// suffixes used for exit codes (the line ends with what went wrong, not with
// how it is classified), shows paths relative to the current folder, and
// keeps to one line.
func Message(err error) string {
	msg := err.Error()
	for changed := true; changed; {
		changed = false
		for _, suffix := range []string{": " + compose.ErrInvalidProject.Error(), ": " + ErrUsage.Error(),
			": " + engine.ErrEngine.Error(), ": " + engine.ErrUnsupported.Error(), ": " + engine.ErrConflict.Error()} {
			if strings.HasSuffix(msg, suffix) {
				msg, changed = strings.TrimSuffix(msg, suffix), true
			}
		}
	}
	if wd, err := os.Getwd(); err == nil && wd != "/" {
		msg = strings.ReplaceAll(msg, wd+string(os.PathSeparator), "")
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
}

// ServiceExitCode is up --exit-code-from's result: the process exits with
// the service's own exit code (the verdict was printed).
type ServiceExitCode struct {
	Service string
	Code    int
}

func (e ServiceExitCode) Error() string {
	return fmt.Sprintf("service %q exited %d (--exit-code-from)", e.Service, e.Code)
}

// ExitCode maps an error returned by Run to the documented exit code.
func ExitCode(err error) int {
	var sc ServiceExitCode
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &sc):
		return sc.Code
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, ErrChecksFailed):
		return ExitFailed
	case errors.Is(err, compose.ErrInvalidProject), errors.Is(err, ErrUsage), errors.Is(err, ErrOutput),
		errors.Is(err, engine.ErrUnsupported), errors.Is(err, engine.ErrConflict):
		return ExitUsage
	case errors.Is(err, lock.ErrBusy), errors.Is(err, lock.ErrLock):
		return ExitLocked
	case errors.Is(err, engine.ErrEngine):
		return ExitEngine
	}
	// Not classified: a failure of this run, not proof the engine failed.
	return ExitFailed
}

// Run executes infractl with args, writing to streams. It never exits.
func Run(ctx context.Context, streams IOStreams, args []string) error {
	f := newFactory(streams)
	defer f.Close()
	root := NewRootCommand(f)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		err = unknownCommand(root, err)
	}
	var sc ServiceExitCode
	if err != nil && err != ErrChecksFailed && !errors.As(err, &sc) && f.red != nil { //nolint:errorlint // the bare sentinel: the verdict said it all
		// An error may quote what a container, a build or the engine said:
		// never a secret, never a terminal escape.
		err = redactedError{err: err, msg: f.red.Terminal(err.Error())}
	}
	return err
}

// unknownCommand is a usage error (exit 2) in one line, with the closest
// commands as cobra suggests them.
func unknownCommand(root *cobra.Command, err error) error {
	name, rest, _ := strings.Cut(strings.TrimPrefix(err.Error(), "unknown command "), " for ")
	of, _, _ := strings.Cut(rest, "\n")
	if n, uerr := strconv.Unquote(name); uerr == nil {
		name = n
	}
	if c, uerr := strconv.Unquote(of); uerr == nil {
		of = c
	} else {
		of = root.Name()
	}
	msg := fmt.Sprintf("unknown command %q for %q", name, of)
	if of == root.Name() {
		if s := root.SuggestionsFor(name); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
		}
	}
	return fmt.Errorf("%s (see '%s --help')%w", msg, of, usageSuffix)
}

// redactedError is an error whose message is redacted; errors.Is and As
// still see the error it wraps (the exit code).
type redactedError struct {
	err error
	msg string
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// NewRootCommand builds the command tree.
func NewRootCommand(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "infractl",
		Short: "Run and verify the init phase of a Docker Compose stack",
		Long: `infractl is a Compose-aware orchestrator for the init phase of a root-only
Docker Compose stack: the one-shot init/sidecar services that create buckets,
topics, database users, clusters, indexes and dashboards once their backends
are healthy.

It loads the project exactly as 'docker compose' does (compose-go v2: -f,
-p, --project-directory, --env-file, --profile, COMPOSE_* variables, .env,
include, extends), discovers the init services and their depends_on graph,
runs them through the Docker Engine API and reports one verdict.

Exit codes:
  0    everything passed
  1    the init phase or a check failed (the verdict says which)
  2    the project does not load, or a usage error
  3    the Docker engine is unreachable or stopped answering, or an
       infrastructure error
  4    another infractl run is changing the project (its lock is held),
       or the lock cannot be taken (see the README: where the lock lives)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')%w", err, c.CommandPath(), usageSuffix)
	})
	f.addProjectFlags(root)
	// The command list, in one place.
	root.AddCommand(
		newPlanCommand(f),
		newGraphCommand(f),
		newLintCommand(f),
		newUpCommand(f, nil),
		newVerifyCommand(f, nil),
		newProvisionCommand(f),
		newDownCommand(f),
		newVersionCommand(f),
		newDialHelperCommand(),
		newDialStdioCommand(f),
	)
	return root
}

// usageSuffix wraps ErrUsage without changing the message.
var usageSuffix = silentErr{ErrUsage}

type silentErr struct{ err error }

func (silentErr) Error() string     { return "" }
func (s silentErr) Unwrap() error   { return s.err }
func (s silentErr) Is(t error) bool { return t == s.err }
