package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/infractl/infractl/internal/loki"
	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
)

// lokiOptions are the flags that reach Loki (up, verify).
type lokiOptions struct {
	cfg      loki.Config
	required bool
}

func (o *lokiOptions) addFlags(c *cobra.Command, f *Factory, urlFlag, urlHelp string) {
	fl := c.Flags()
	fl.StringVar(&o.cfg.URL, urlFlag, "", urlHelp+" (default: INFRACTL_LOKI_URL)")
	fl.StringVar(&o.cfg.Tenant, "loki-tenant", "", "X-Scope-OrgID for a multi-tenant Loki")
	fl.StringVar(&o.cfg.User, "loki-user", "", "basic auth user (the password is read from --loki-password-file)")
	fl.StringVar(&o.cfg.PasswordFile, "loki-password-file", "", "file holding the basic auth password (a compose secret's file works)")
	fl.StringVar(&o.cfg.TokenFile, "loki-token-file", "", "file holding a bearer token")
	fl.StringVar(&o.cfg.CAFile, "loki-ca-file", "", "CA certificate (PEM) to trust for an https Loki")
	fl.DurationVar(&o.cfg.Timeout, "loki-timeout", 10*time.Second, "give up pushing to (or querying) Loki after this long, retries included")
}

// client is nil when no URL is given (flag or INFRACTL_LOKI_URL); a bad
// configuration is a usage error before anything runs.
func (o *lokiOptions) client(f *Factory) (*loki.Client, error) {
	if o.cfg.URL == "" {
		o.cfg.URL, _ = f.Streams.LookupEnv("INFRACTL_LOKI_URL")
	}
	if o.cfg.URL == "" {
		if o.required {
			return nil, fmt.Errorf("--loki-required needs --loki-url (or INFRACTL_LOKI_URL)%w", usageSuffix)
		}
		return nil, nil
	}
	// A password in the URL is refused below; it must not be printed on
	// the way (an ERROR line, the verdict).
	f.AddSecrets(redact.URLPasswords(o.cfg.URL)...)
	if o.cfg.Timeout <= 0 {
		return nil, fmt.Errorf("--loki-timeout %s is out of range: it takes more than 0s%w", o.cfg.Timeout, usageSuffix)
	}
	c, err := loki.New(o.cfg)
	if err != nil {
		return nil, fmt.Errorf("%w%w", err, usageSuffix)
	}
	return c, nil
}

// push sends a run's results; its outcome goes into the verdict, and a
// failure fails the run only when required.
//
// Ctrl-C, SIGTERM and SIGHUP end the push at once. After an interrupted
// run the partial results are still pushed, within --loki-timeout (a
// second signal exits at once).
func (o *lokiOptions) push(ctx context.Context, c *loki.Client, v *report.Verdict, progress io.Writer) {
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	streams := loki.Streams(*v, runID(), time.Now())
	if progress != nil {
		fmt.Fprintf(progress, "pushing the results to Loki %s\n", c.URL())
	}
	n, err := c.Push(ctx, streams)
	v.Loki = &report.LokiPush{URL: c.URL(), Lines: n, Required: o.required}
	if err != nil {
		v.Loki.Error = err.Error()
		if o.required {
			v.OK = false
		}
	}
}

// runID names one run in the lines it pushes (not a label: it would be of
// high cardinality).
func runID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
