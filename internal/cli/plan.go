package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/buildinfo"
	"github.com/infractl/infractl/internal/endpoint"
	"github.com/infractl/infractl/internal/report"
)

type planOptions struct{ format string }

func newPlanCommand(f *Factory) *cobra.Command {
	o := &planOptions{}
	c := &cobra.Command{
		Use:   "plan",
		Short: "Show the init phase: stages, roles and what waits on what",
		Long: `plan loads the project and shows, without touching the Docker engine:

  - the init services (one-shot services that provision resources), with
    what each waits on and what waits on it;
  - every service's role (init, backend or app) and why it was given;
  - the topological stages: services in one stage may run in parallel;
  - the critical path of the init phase.

A service is an init when it is a pre_start hook, when another service waits
on it with service_completed_successfully, or when it has restart: "no", no
healthcheck, and waits on a healthy target. The label infractl.role
(init|backend|app) overrides discovery.`,
		Example: `  infractl plan -f compose.yaml --env-file .env.example
  infractl plan --format json | jq '.inits'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			m, err := f.LoadModel(cmd.Context())
			if err != nil {
				return err
			}
			p := report.NewPlan(m)
			if o.format == "json" {
				return report.WritePlanJSON(f.Streams.Out, p)
			}
			return report.WritePlanText(f.Streams.Out, p, f.Streams.Styles())
		},
	}
	c.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return c
}

func newGraphCommand(f *Factory) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "graph",
		Short: "Draw the depends_on graph (Mermaid or Graphviz dot)",
		Long: `graph draws every depends_on edge of the project, from the service waited on
to the one that waits, labelled with its condition. Inits are drawn apart
(Mermaid: rounded and purple; dot: double-bordered and purple), optional
dependencies (required: false) are dashed.`,
		Example: `  infractl graph --format mermaid > graph.mmd
  infractl graph --format dot | dot -Tsvg > graph.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "mermaid", "dot"); err != nil {
				return err
			}
			m, err := f.LoadModel(cmd.Context())
			if err != nil {
				return err
			}
			p := report.NewPlan(m)
			if format == "dot" {
				return report.WriteDot(f.Streams.Out, p)
			}
			return report.WriteMermaid(f.Streams.Out, p)
		},
	}
	c.Flags().StringVar(&format, "format", "mermaid", "output format: mermaid or dot")
	return c
}

func newVersionCommand(f *Factory) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version of infractl, Go and compose-go",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			i := buildinfo.Get()
			// The engine this configuration talks to, and its version; not
			// reaching it is said, not an error.
			type withEngine struct {
				buildinfo.Info
				Endpoint      string `json:"endpoint"`
				EngineVersion string `json:"engineVersion,omitempty"`
				EngineError   string `json:"engineError,omitempty"`
			}
			out := withEngine{Info: i}
			if ep, err := endpoint.Resolve(f.Endpoint, endpoint.Getenv(f.Streams.LookupEnv)); err != nil {
				out.Endpoint, out.EngineError = "?", Message(err)
			} else {
				out.Endpoint = ep.String()
				if eng, err := f.Engine(cmd.Context()); err != nil {
					out.EngineError = Message(err)
				} else if v, ok := eng.(interface {
					ServerVersion(context.Context) (string, string, error)
				}); ok {
					if s, api, err := v.ServerVersion(cmd.Context()); err == nil {
						out.EngineVersion = fmt.Sprintf("%s (API %s)", s, api)
					} else {
						out.EngineError = Message(err)
					}
				}
			}
			if format == "json" {
				return json.NewEncoder(f.Streams.Out).Encode(out)
			}
			engineLine := out.EngineVersion
			if out.EngineError != "" {
				engineLine = "not reached: " + out.EngineError
			}
			_, err := fmt.Fprintf(f.Streams.Out, "infractl %s\ncommit:      %s\ngo:          %s\ncompose-go:  %s\nmoby client: %s\nendpoint:    %s\nengine:      %s\n",
				i.Version, i.Commit, i.Go, i.ComposeGo, i.MobyAPI, out.Endpoint, engineLine)
			return err
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return c
}
