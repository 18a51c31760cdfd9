package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/provision"
)

func newProvisionCommand(f *Factory) *cobra.Command {
	var (
		services   []string
		check      bool
		secretsDir string
		format     string
		retry      provision.Retry
	)
	c := &cobra.Command{
		Use:   "provision",
		Short: "Create (or --check) the resources an init service declares in x-infractl",
		Long: `provision reads the x-infractl declaration of init services (schema:
internal/provision/schema.json) and creates what they declare, idempotently: Kafka
topics, S3 buckets (versioning, policies), Postgres roles and databases,
a Valkey cluster, OpenSearch templates and indexes, Grafana folders, data
sources and dashboards. "Already exists" is success (REQ-AUTO-01).

It waits for each backend with exponential backoff and jitter, at most
--max-retries attempts and --deadline, then exits 1 with one line naming the
target and the last error (REQ-SPC-AUTO-002, REQ-AUTO-03).

It is meant to run as the init container itself (image infractl/infractl,
the project folder mounted read-only), reading credentials from
/run/secrets/<name>; on the host it reads each secret's source file.
--check compares instead of creating (VAL-SPC-103) and exits 1 on a missing
resource or drift.`,
		Example: `  # as an init service
  kafka-init:
    image: infractl/infractl:latest
    command: ["provision", "-f", "/project/compose.yaml", "--service", "kafka-init"]
    volumes: ["../../..:/project:ro"]
    x-infractl:
      kafka:
        bootstrap: [kafka-1:19092]
        topics: [{name: orders, partitions: 3, replication: 3}]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			m, err := f.LoadModel(ctx)
			if err != nil {
				return err
			}
			decls, err := provision.Declarations(m)
			if err != nil {
				return fmt.Errorf("%w%w", err, silentErr{compose.ErrInvalidProject})
			}
			if len(services) > 0 {
				want := map[string]bool{}
				for _, s := range services {
					if _, ok := m.Services[s]; !ok {
						return fmt.Errorf("service %q is not in the project%w", s, usageSuffix)
					}
					want[s] = true
				}
				var keep []provision.Declaration
				for _, d := range decls {
					if want[d.Service] {
						keep = append(keep, d)
					}
				}
				decls = keep
			}
			if len(decls) == 0 {
				return fmt.Errorf("no x-infractl resource declaration found (on %v)%w", services, usageSuffix)
			}
			env := provision.Env{Retry: retry}
			if st, err := os.Stat(secretsDir); secretsDir != "" && err == nil && st.IsDir() {
				env.Secrets = provision.ContainerSecrets(secretsDir)
			} else {
				env.Secrets = provision.HostSecrets(m)
			}
			var all []provision.Item
			failed := false
			for _, d := range decls {
				for _, p := range provision.For(d, env) {
					var items []provision.Item
					var err error
					if check {
						items, err = p.Check(ctx)
					} else {
						items, err = p.Ensure(ctx)
					}
					for _, it := range items {
						if format == "text" {
							fmt.Fprintf(f.Streams.Out, "%s: %s %s: %s", d.Service, it.Backend, it.Resource, it.Status)
							if it.Detail != "" {
								fmt.Fprintf(f.Streams.Out, " (%s)", it.Detail)
							}
							fmt.Fprintln(f.Streams.Out)
						}
						failed = failed || it.Bad()
					}
					all = append(all, items...)
					if err != nil {
						if errors.Is(err, context.Canceled) {
							return err
						}
						return fmt.Errorf("%s: %v%w", d.Service, err, silentErr{ErrChecksFailed})
					}
				}
			}
			if format == "json" {
				enc := json.NewEncoder(f.Streams.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"schemaVersion": 1, "items": all}); err != nil {
					return err
				}
			}
			if failed {
				return ErrChecksFailed
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&services, "service", nil, "provision only these services (repeatable; default: every service with a declaration)")
	fl.BoolVar(&check, "check", false, "compare the backends with the declaration instead of creating (VAL-SPC-103)")
	fl.StringVar(&secretsDir, "secrets-dir", "/run/secrets", "where secrets are mounted (inside a container); when it does not exist, secrets are read from their source files")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	fl.IntVar(&retry.MaxRetries, "max-retries", 30, "attempts to reach each backend before giving up")
	fl.DurationVar(&retry.Deadline, "deadline", 2*time.Minute, "give up on a backend after this long")
	return c
}
