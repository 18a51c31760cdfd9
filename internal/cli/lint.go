package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/buildinfo"
	"github.com/infractl/infractl/internal/lint"
	"github.com/infractl/infractl/internal/report"
)

func newLintCommand(f *Factory) *cobra.Command {
	var format, failOn string
	c := &cobra.Command{
		Use:   "lint",
		Short: "Check the project against the specs' rules, with file:line and a fix",
		Long: `lint loads the project as docker compose would (VAL-AUTO-001) and checks the
rules the specs state, pointing at the file and line of each finding and
saying how to fix it. Rule IDs are stable; each cites the requirement it
enforces (run 'infractl lint --list' to see them).

Suppress a finding, with a reason, by a comment on its line:
    - 10.0.0.5:/data   # infractl:ignore INF006 the NAS has no DNS name
or on the service:
    x-infractl:
      ignore:
        - {rule: INF006, reason: the NAS has no DNS name}
A suppression without a reason is itself a finding (INF000).

Values of credential-like variables are never printed: they show as ***.`,
		Example: `  infractl lint
  infractl lint --format sarif > infractl.sarif   # GitHub code scanning
  infractl lint --format github                   # workflow annotations
  infractl lint --fail-on warning`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "text", "json", "sarif", "github"); err != nil {
				return err
			}
			threshold := lint.Severity(failOn)
			if threshold.Rank() == 0 && failOn != "none" {
				return fmt.Errorf("unknown --fail-on %q (one of error, warning, info, none)%w", failOn, usageSuffix)
			}
			if list, _ := cmd.Flags().GetBool("list"); list {
				for _, r := range lint.Rules {
					fmt.Fprintf(f.Streams.Out, "%s  %-22s %-8s %s  [%s]\n", r.ID, r.Name, r.Severity, r.Short, r.Requirement)
				}
				return nil
			}
			m, err := f.LoadModel(cmd.Context())
			if err != nil {
				return err
			}
			fs := lint.Check(m)
			base := m.Project.WorkingDir
			switch format {
			case "json":
				err = report.WriteLintJSON(f.Streams.Out, m.Project.Name, base, fs)
			case "sarif":
				err = report.WriteLintSARIF(f.Streams.Out, base, buildinfo.Get().Version, fs)
			case "github":
				err = report.WriteLintGitHub(f.Streams.Out, base, fs)
			default:
				err = report.WriteLintText(f.Streams.Out, base, fs, f.Streams.Styles())
			}
			if err != nil {
				return err
			}
			if failOn == "none" {
				return nil
			}
			for _, x := range fs {
				if x.Severity.Rank() >= threshold.Rank() {
					return ErrChecksFailed
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text, json, sarif (2.1.0) or github (workflow annotations)")
	c.Flags().StringVar(&failOn, "fail-on", "error", "exit 1 when a finding is at least this severe: error, warning, info or none")
	c.Flags().Bool("list", false, "list the rules and exit")
	return c
}
