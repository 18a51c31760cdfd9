package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/loki"
	"github.com/infractl/infractl/internal/provision"
	"github.com/infractl/infractl/internal/report"
)

func newProvisionCommand(f *Factory) *cobra.Command {
	var (
		services []string
		req      provision.Request
		format   string
		lk       lokiOptions
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
			if err := checkRanges(
				flagRange{name: "max-retries", value: float64(req.Retry.MaxRetries), positive: true},
				flagRange{name: "deadline", value: req.Retry.Deadline.Seconds(), positive: true, unit: "s"},
			); err != nil {
				return err
			}
			ctx := cmd.Context()
			lc, err := lk.client(f)
			if err != nil {
				return err
			}
			// As an init (its secrets mounted), the project's secret files
			// need not exist here: they are read from --secrets-dir.
			st, statErr := os.Stat(req.SecretsDir)
			m, err := f.loadModel(ctx, req.SecretsDir != "" && statErr == nil && st.IsDir())
			if err != nil {
				return err
			}
			req.Services = services
			byService := map[string][]any{}
			okByService := map[string]bool{}
			all, bad, err := provision.Run(ctx, m, req, func(service string, it provision.Item) {
				byService[service] = append(byService[service], it)
				if _, seen := okByService[service]; !seen {
					okByService[service] = true
				}
				if it.Bad() {
					okByService[service] = false
				}
				if format != "text" {
					return
				}
				fmt.Fprintf(f.Streams.Out, "%s: %s %s: %s", service, it.Backend, it.Resource, it.Status)
				if it.Detail != "" {
					fmt.Fprintf(f.Streams.Out, " (%s)", it.Detail)
				}
				fmt.Fprintln(f.Streams.Out)
			})
			if lc != nil && len(byService) > 0 {
				// Searchable in Loki (SPEC-INFRA-03 §9), as up's results.
				run := runID()
				command := "provision"
				if req.Check {
					command += " --check"
				}
				var lines []loki.ProvisionLine
				for _, s := range slices.Sorted(maps.Keys(byService)) {
					lines = append(lines, loki.ProvisionLine{Run: run, Command: command, Service: s, OK: okByService[s] && err == nil,
						Items: byService[s], Requirements: []string{report.ReqAudit, report.ReqIdempotent}})
				}
				if _, perr := lc.Push(context.WithoutCancel(ctx), loki.ProvisionStreams(m.Project.Name, lines, time.Now())); perr != nil {
					fmt.Fprintf(f.Streams.ErrOut, "WARNING loki: push to %s failed, the results are not in Loki: %v\n", lc.URL(), perr)
					if lk.required && err == nil {
						err = fmt.Errorf("--loki-required: push to %s failed: %w%w", lc.URL(), perr, silentErr{ErrChecksFailed})
						bad = true
					}
				}
			}
			var be *provision.BackendError
			switch {
			case errors.Is(err, provision.ErrDeclaration):
				return fmt.Errorf("%w%w", err, silentErr{compose.ErrInvalidProject})
			case errors.Is(err, provision.ErrSelection):
				return fmt.Errorf("%w%w", err, usageSuffix)
			case errors.As(err, &be):
				return fmt.Errorf("%w%w", err, silentErr{ErrChecksFailed})
			case err != nil:
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(f.Streams.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"schemaVersion": 1, "items": all}); err != nil {
					return err
				}
			}
			if bad {
				return ErrChecksFailed
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&services, "service", nil, "provision only these services (repeatable; default: every service with a declaration)")
	fl.BoolVar(&req.Check, "check", false, "compare the backends with the declaration instead of creating (VAL-SPC-103)")
	fl.StringVar(&req.SecretsDir, "secrets-dir", "/run/secrets", "where secrets are mounted (inside a container); when it does not exist, secrets are read from their source files")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	fl.IntVar(&req.Retry.MaxRetries, "max-retries", 30, "attempts to reach each backend before giving up")
	fl.DurationVar(&req.Retry.Deadline, "deadline", 2*time.Minute, "give up on a backend after this long")
	lk.addFlags(c, f, "loki-url", "push one result line per provisioned service (its resources and their status) to this Loki")
	fl.BoolVar(&lk.required, "loki-required", false, "exit 1 when the push to Loki fails")
	return c
}
