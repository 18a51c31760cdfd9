package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// composeFlag is a flag of docker compose's that infractl takes without
// implementing it: accepted (it changes nothing infractl does, said in
// its help) or refused by name when used, with why and what to use
// instead, never "unknown flag".
type composeFlag struct {
	name, short string
	// value: the flag takes a value (string); otherwise it is a switch.
	value bool
	// refused is why using it is a usage error (exit 2); empty: accepted.
	refused string
	// accepted is the help of an accepted flag.
	accepted string
	// hidden keeps it out of --help (a name compose does not have: only
	// its shorthand is compose's).
	hidden bool
}

// upComposeFlags are docker compose v5.6.0's `up` flags infractl does not
// implement (the others are infractl's own, with compose's meaning).
var upComposeFlags = []composeFlag{
	{name: "abort-on-container-exit", refused: "infractl runs the init phase and returns; a failed init already fails the run (exit 1) and blocks what waits on it"},
	{name: "abort-on-container-failure", refused: "a failed init already fails the run (exit 1) and blocks what waits on it"},
	{name: "always-recreate-deps", refused: "not implemented yet: use --force-recreate"},
	{name: "dry-run", refused: "not implemented yet: infractl plan shows what up would run, in order"},
	{name: "no-start", refused: "not implemented yet (docker compose create creates without starting)"},
	{name: "pull", value: true, refused: "infractl does not pull images yet: pull them first (docker compose pull)"},
	{name: "quiet-pull", refused: "infractl does not pull images yet: pull them first (docker compose pull --quiet)"},
	{name: "renew-anon-volumes", short: "V", accepted: "accepted: infractl always creates a replaced container's anonymous volumes anew (docker compose carries them over unless -V)"},
	{name: "watch", short: "w", refused: "not implemented yet: docker compose watch rebuilds on file changes"},
	{name: "stop-timeout", short: "t", value: true, hidden: true, refused: "docker compose's stop timeout (-t N), which infractl up does not implement yet; infractl's --timeout is another thing: it bounds each init's run (a duration)"},
	{name: "yes", short: "y", accepted: "accepted: infractl asks nothing"},
	{name: "no-color", accepted: "accepted: no colours and styles (as NO_COLOR=1)"},
	{name: "quiet-build", accepted: "accepted: build output is not printed"},
	{name: "menu", accepted: "accepted: infractl has no interactive shortcuts"},
	{name: "attach", value: true, accepted: "accepted: infractl does not attach to the services' output (as docker compose up -d)"},
	{name: "no-attach", value: true, accepted: "accepted: infractl does not attach to the services' output"},
	{name: "attach-dependencies", accepted: "accepted: infractl does not attach to the services' output"},
	{name: "no-log-prefix", accepted: "accepted: infractl does not attach to the services' output"},
	{name: "timestamps", accepted: "accepted: infractl does not attach to the services' output"},
}

// downComposeFlags are docker compose v5.6.0's `down` flags infractl does
// not implement.
var downComposeFlags = []composeFlag{
	{name: "dry-run", refused: "not implemented yet: infractl down names each container, network and volume it removes"},
}

// addComposeFlags registers flags on c.
func addComposeFlags(c *cobra.Command, flags []composeFlag) {
	for _, f := range flags {
		help := f.accepted
		if f.refused != "" {
			help = "refused: " + f.refused
		}
		if f.value {
			c.Flags().StringArrayP(f.name, f.short, nil, help)
		} else {
			c.Flags().BoolP(f.name, f.short, false, help)
		}
		if f.hidden {
			_ = c.Flags().MarkHidden(f.name)
		}
	}
}

// refuseComposeFlags is the usage error for the first refused flag used.
func refuseComposeFlags(c *cobra.Command, flags []composeFlag) error {
	for _, f := range flags {
		if f.refused == "" || !c.Flags().Changed(f.name) {
			continue
		}
		name := "--" + f.name
		switch {
		case f.hidden:
			name = "-" + f.short // only the shorthand is compose's
		case f.short != "":
			name = "-" + f.short + "/" + name
		}
		return fmt.Errorf("%s: %s%w", name, f.refused, usageSuffix)
	}
	return nil
}
