package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/engine"
)

// docker compose v5.6.0's `up --help` and `down --help` (long name, short
// name, takes a value), as it printed them.
var composeUp = []struct {
	long, short string
	value       bool
}{
	{"abort-on-container-exit", "", false}, {"abort-on-container-failure", "", false}, {"always-recreate-deps", "", false},
	{"attach", "", true}, {"attach-dependencies", "", false}, {"build", "", false}, {"detach", "d", false},
	{"dry-run", "", false}, {"exit-code-from", "", true}, {"force-recreate", "", false}, {"menu", "", false},
	{"no-attach", "", true}, {"no-build", "", false}, {"no-color", "", false}, {"no-deps", "", false},
	{"no-log-prefix", "", false}, {"no-recreate", "", false}, {"no-start", "", false}, {"pull", "", true},
	{"quiet-build", "", false}, {"quiet-pull", "", false}, {"remove-orphans", "", false},
	{"renew-anon-volumes", "V", false}, {"scale", "", true}, {"timeout", "t", true}, {"timestamps", "", false},
	{"wait", "", false}, {"wait-timeout", "", true}, {"watch", "w", false}, {"yes", "y", false},
}

var composeDown = []struct {
	long, short string
	value       bool
}{
	{"dry-run", "", false}, {"remove-orphans", "", false}, {"rmi", "", true}, {"timeout", "t", true}, {"volumes", "v", false},
}

// Every flag of docker compose v5.6.0's up and down is implemented,
// accepted, or refused by name with its reason: never "unknown flag".
func TestEveryComposeUpAndDownFlagIsHandled(t *testing.T) {
	noEngine := &Factory{Connect: func(context.Context) (engine.Engine, error) {
		return nil, errors.New("the engine was opened")
	}}
	run := func(c *cobra.Command, args ...string) error {
		c.SetArgs(args)
		c.SilenceErrors, c.SilenceUsage = true, true
		return c.Execute()
	}
	for _, tt := range []struct {
		cmd   string
		flags []struct {
			long, short string
			value       bool
		}
		refused []composeFlag
		make    func() *cobra.Command
	}{
		{"up", composeUp, upComposeFlags, func() *cobra.Command {
			return newUpCommand(noEngine, func(context.Context, *UpOptions) error { return nil })
		}},
		{"down", composeDown, downComposeFlags, func() *cobra.Command { return newDownCommand(noEngine) }},
	} {
		for _, fl := range tt.flags {
			t.Run(tt.cmd+" --"+fl.long, func(t *testing.T) {
				c := tt.make()
				use := "--" + fl.long
				if fl.short != "" {
					use = "-" + fl.short // compose's short form; its long form may be infractl's own
				}
				args := []string{use}
				if fl.value {
					args = append(args, map[string]string{"scale": "web=2", "wait-timeout": "120", "timeout": "30", "pull": "always", "rmi": "all"}[fl.long])
					if args[1] == "" {
						args[1] = "web"
					}
				}
				err := run(c, args...)
				if err != nil && strings.Contains(err.Error(), "unknown") {
					t.Fatalf("%s %v: %v", tt.cmd, args, err)
				}
				for _, r := range tt.refused {
					if r.refused != "" && (r.name == fl.long || r.short != "" && r.short == fl.short) {
						if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), strings.Fields(r.refused)[0]) {
							t.Fatalf("%s %v: %v, want refused: %s", tt.cmd, args, err, r.refused)
						}
						return
					}
				}
				if errors.Is(err, ErrUsage) {
					t.Fatalf("%s %v refused: %v", tt.cmd, args, err)
				}
			})
		}
	}
}
