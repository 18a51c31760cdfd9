//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/dockerapi"
	"github.com/infractl/infractl/internal/report"
)

// remoteRoundTrip runs up, verify --audit and down of the e2e-remote
// fixture through the endpoint env (and global flags) choose, and checks
// what a remote engine needs: the file secrets and the project file reach
// the containers as copies (no bind mount of a path on this machine), the
// audit dials the S3 server from the project's network through the engine
// (the engine's own events show the dial helper's exec, and the helper is
// gone afterwards), no secret value is printed, and down leaves nothing.
func remoteRoundTrip(t *testing.T, env, global []string, endpoint string) {
	t.Helper()
	const p = "e2e-remote"
	flags := []string{"-f", filepath.Join(fixture("e2e-remote"), "compose.yaml"), "-p", p}
	down(t, flags)
	t.Cleanup(func() { down(t, flags) })
	secrets := []string{}
	for _, f := range []string{"s3_access_key", "s3_secret_key"} {
		b, err := os.ReadFile(filepath.Join(fixture("e2e-remote"), "secrets", f+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.TrimSpace(string(b)))
	}
	var printed strings.Builder
	run := func(cmd string, more ...string) result {
		t.Helper()
		r := infraEnv(t, env, append(append([]string{}, global...), args(cmd, flags, more...)...)...)
		printed.WriteString(r.stdout + r.stderr)
		return r
	}

	r := run("up", "--format", "json", "--logs-dir", t.TempDir())
	if r.code != 0 {
		t.Fatalf("up through %s: exit %d\n%s\n%s", endpoint, r.code, r.stdout, r.stderr)
	}
	v := verdict(t, r.stdout)
	if !strings.Contains(v.Endpoint, endpoint) {
		t.Errorf("the verdict's endpoint is %q, want %s", v.Endpoint, endpoint)
	}
	if s := service(t, v, "s3-init"); s.Outcome != "ok" {
		t.Errorf("s3-init: %s %s", s.Outcome, s.Detail)
	}
	for svc, insp := range projectInspect(t, p) {
		for _, m := range insp.Mounts {
			if m.Type == "bind" {
				t.Errorf("%s bind-mounts %s from this machine", svc, m.Source)
			}
		}
	}

	// The audit, watched from the engine: each dial is an exec of
	// dial-stdio in the helper container.
	ctx, cancel := context.WithCancel(t.Context())
	f := client.Filters{}
	f.Add("label", dockerapi.LabelDialHelper+"="+p)
	ev := docker.Events(ctx, client.EventsListOptions{Filters: f})
	var mu sync.Mutex
	var execs []string
	seen := make(chan struct{})
	go func() {
		for m := range ev.Messages {
			a := string(m.Action)
			if !strings.HasPrefix(a, "exec_start") {
				continue
			}
			mu.Lock()
			execs = append(execs, a)
			mu.Unlock()
			if strings.Contains(a, "dial-stdio tcp minio:9000") {
				close(seen)
				return
			}
		}
	}()
	r = run("verify", "--audit", "--format", "json")
	v = verdict(t, r.stdout)
	c := check(t, v, report.ReqAudit)
	if r.code != 0 || c.Status != report.Pass || len(c.Results) != 2 {
		t.Errorf("verify --audit through %s: exit %d, %+v\n%s", endpoint, r.code, c, r.stderr)
	}
	// The engine delivers its events shortly after the calls: a bound, not
	// a timing assertion.
	select {
	case <-seen:
	case <-time.After(15 * time.Second):
		mu.Lock()
		t.Errorf("the audit did not dial through the engine (exec events of the dial helper: %q)", execs)
		mu.Unlock()
	}
	cancel()
	left, err := docker.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 0 {
		t.Errorf("the dial helper is still there: %s", left.Items[0].Names)
	}

	r = run("down", "-v")
	if r.code != 0 {
		t.Errorf("down through %s: exit %d\n%s", endpoint, r.code, r.stderr)
	}
	if c, n, vol := projectResources(t, p); c+n+vol != 0 {
		t.Errorf("after down through %s: %d containers, %d networks, %d volumes left", endpoint, c, n, vol)
	}
	for _, s := range secrets {
		if strings.Contains(printed.String(), s) {
			t.Errorf("a secret value was printed through %s", endpoint)
		}
	}
}
