//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/provision"
	"github.com/infractl/infractl/internal/report"
)

func projectInspect(t *testing.T, p string) map[string]container.InspectResponse {
	t.Helper()
	out := map[string]container.InspectResponse{}
	for svc, id := range containerIDs(t, p) {
		insp, err := docker.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[svc] = insp.Container
	}
	return out
}

func fileSecret(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture("e2e-provision"), "secrets", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestE2EProvisionRealBackends: infractl provision, run as the init
// containers, creates topics (kfake), buckets (versitygw), a role and a
// database (PostgreSQL 15) and forms a 6-node Redis 7 cluster; a second run
// is a no-op; Check passes; drift and deletions are reported by name; a
// backend that is down makes provision exit 1 within its retry budget.
func TestE2EProvisionRealBackends(t *testing.T) {
	flags := project(t, "e2e-provision")
	p := projectName(flags)
	logs := t.TempDir()
	if r := infra(t, args("up", flags, "--logs-dir", logs)...); r.code != 0 {
		t.Fatalf("up: exit %d\n%s", r.code, r.stdout)
	}
	read := func(svc string) string {
		b, err := os.ReadFile(filepath.Join(logs, svc+".log"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	first := map[string]string{}
	for _, svc := range []string{"kafka-init", "s3-init", "pg-init", "valkey-init"} {
		first[svc] = read(svc)
		if !strings.Contains(first[svc], ": created") {
			t.Errorf("%s first run created nothing:\n%s", svc, first[svc])
		}
	}

	// Ensure twice: the second run changes nothing.
	if r := infra(t, args("up", flags, "--logs-dir", logs)...); r.code != 0 {
		t.Fatalf("second up: exit %d\n%s", r.code, r.stdout)
	}
	for svc := range first {
		second := read(svc)
		if strings.Contains(second, "created") || strings.Contains(second, "updated") || !strings.Contains(second, "exists") {
			t.Errorf("%s second run was not a no-op:\n%s", svc, second)
		}
	}

	// Check passes, from the host (names resolved through the Engine API).
	r := infra(t, args("verify", flags, "--audit", "--format", "json")...)
	v := verdict(t, r.stdout)
	if c := check(t, v, report.ReqAudit); r.code != 0 || c.Status != report.Pass || len(c.Results) != 7 {
		t.Fatalf("audit: exit %d, %+v", r.code, c)
	}

	// Drift, checked with the library against the same backends.
	env := provision.Env{Dial: engineDialer(projectInspect(t, p)), Retry: provision.Retry{MaxRetries: 3},
		Secrets: func(name string) (string, error) { return fileSecret(t, name), nil }}
	drift := provision.Declaration{
		Kafka:    &provision.Kafka{Bootstrap: []string{"kafka-1:19092"}, Topics: []provision.Topic{{Name: "orders", Partitions: 6}}},
		S3:       &provision.S3{Endpoint: "minio:9000", AccessKeySecret: "s3_access_key", SecretKeySecret: "s3_secret_key", Buckets: []provision.Bucket{{Name: "never-made"}}},
		Postgres: &provision.Postgres{Host: "pg:5432", PasswordSecret: "pg_password", Roles: []provision.Role{{Name: "ghost", Login: true}}},
	}
	var got []string
	for _, pv := range provision.For(drift, env) {
		items, err := pv.Check(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.Resource+": "+string(it.Status)+" "+it.Detail)
		}
	}
	want := []string{"topic orders: drift declared 6 partitions, has 3", "bucket never-made: missing ", "role ghost: missing "}
	for i, w := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], w) {
			t.Errorf("drift report %v, want %v", got, want)
			break
		}
	}

	// A bucket deleted behind its back fails the audit, by name.
	mc, err := minio.New(ip(t, p, "minio")+":9000", &minio.Options{Creds: credentials.NewStaticV4(fileSecret(t, "s3_access_key"), fileSecret(t, "s3_secret_key"), ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.RemoveBucket(t.Context(), "raw"); err != nil {
		t.Fatal(err)
	}
	r = infra(t, args("verify", flags, "--audit", "--format", "json")...)
	v = verdict(t, r.stdout)
	if res := checkResult(t, check(t, v, report.ReqAudit), "s3-init"); r.code != 1 || res.Status != report.Fail || !strings.Contains(res.Message, "bucket raw: missing") {
		t.Errorf("audit after deleting raw: exit %d, %+v", r.code, check(t, v, report.ReqAudit).Results)
	}

	// Backends that are down: provision exits 1 within its retry budget,
	// with one line naming the target, for every backend kind.
	ids := containerIDs(t, p)
	for _, svc := range []string{"kafka-1", "minio", "pg", "valkey-1", "valkey-2", "valkey-3", "valkey-4", "valkey-5", "valkey-6"} {
		timeout := 1
		if _, err := docker.ContainerStop(t.Context(), ids[svc], client.ContainerStopOptions{Timeout: &timeout}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ init, prefix string }{
		{"kafka-init", "ERROR: kafka-init: kafka kafka-1:19092 not ready after"},
		{"s3-init", "ERROR: s3-init: s3 minio:9000 not ready after"},
		{"pg-init", "ERROR: pg-init: postgres pg:5432 not ready after"},
		{"valkey-init", "ERROR: valkey-init: valkey valkey-1:6379 not ready after"},
	} {
		t.Run(c.init+" with its backend down", func(t *testing.T) {
			began := time.Now()
			cmd := exec.Command("docker", "run", "--rm", "--network", p+"_default", "-v", fixture("e2e-provision")+":/project:ro",
				"infractl/infractl:latest", "provision", "-f", "/project/compose.yaml", "--service", c.init, "--max-retries", "4", "--deadline", "20s")
			out, err := cmd.CombinedOutput()
			elapsed := time.Since(began)
			t.Logf("provision %s with its backend down (%v):\n%s", c.init, elapsed, out)
			var ee *exec.ExitError
			if err == nil || !errorsAs(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit %v, want 1", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], c.prefix) {
				t.Errorf("want one line starting %q, got:\n%s", c.prefix, out)
			}
			if elapsed > 60*time.Second {
				t.Errorf("took %v, beyond the 20 s deadline plus container start", elapsed)
			}
		})
	}
}
