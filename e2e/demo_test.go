//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/moby/moby/client"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valkey-io/valkey-go"
)

// ip returns a service container's address on the project network, so the
// test reaches the real servers from the host (no published ports needed).
func ip(t *testing.T, p, service string) string {
	t.Helper()
	id := containerIDs(t, p)[service]
	insp, err := docker.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", service, err)
	}
	for _, n := range insp.Container.NetworkSettings.Networks {
		if n.IPAddress.IsValid() {
			return n.IPAddress.String()
		}
	}
	t.Fatalf("%s has no address", service)
	return ""
}

func secret(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture("demo"), "secrets", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestE2EDemoUpProvisionsAndIsIdempotent brings the demo stack up with real
// servers, inspects what the inits provisioned with each backend's own
// client, then runs up again: backends are kept, every init runs again in a
// fresh container and exits 0 (REQ-SPC-AUTO-001, VAL-SPC-101).
func TestE2EDemoUpProvisionsAndIsIdempotent(t *testing.T) {
	demo := fixture("demo")
	flags := project(t, "demo", "--env-file", filepath.Join(demo, ".env.example"))
	p := projectName(flags)
	logs := t.TempDir()
	r := infra(t, args("up", flags, "--format", "json", "--logs-dir", logs)...)
	if r.code != 0 {
		t.Fatalf("up: exit %d\n%s", r.code, r.stdout)
	}
	first := verdict(t, r.stdout)
	inits := []string{"k-init", "kafka-init", "minio-create-buckets", "mng-pg-init", "pg-cluster-init", "valkey-cluster-init"}
	for _, n := range inits {
		if s := service(t, first, n); s.Outcome != "ok" || s.ExitCode == nil || *s.ExitCode != 0 {
			t.Errorf("%s: %s", n, s.Outcome)
		}
	}
	before := containerIDs(t, p)

	t.Run("S3 buckets via minio-go", func(t *testing.T) {
		mc, err := minio.New(ip(t, p, "minio")+":9000", &minio.Options{
			Creds: credentials.NewStaticV4(secret(t, "s3_access_key"), secret(t, "s3_secret_key"), ""), Region: "us-east-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		bs, err := mc.ListBuckets(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range bs {
			names = append(names, b.Name)
		}
		sort.Strings(names)
		if got := strings.Join(names, " "); got != "audit-logs curated raw" {
			t.Errorf("buckets = %s", got)
		}
	})

	t.Run("Kafka topics via kadm", func(t *testing.T) {
		addrs := map[string]string{}
		for _, b := range []string{"kafka-1", "kafka-2", "kafka-3"} {
			addrs[b+":19092"] = ip(t, p, b) + ":19092"
		}
		// Advertised names resolve through the Engine API, as inside the network.
		dial := func(ctx context.Context, network, host string) (net.Conn, error) {
			if a, ok := addrs[host]; ok {
				host = a
			}
			var d net.Dialer
			return d.DialContext(ctx, network, host)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers("kafka-1:19092"), kgo.Dialer(dial))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		td, err := kadm.NewClient(cl).ListTopics(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"orders": 3, "payments": 3, "audit": 1, "telemetry.events": 3, "telemetry.metrics": 3}
		for name, parts := range want {
			d, ok := td[name]
			if !ok {
				t.Errorf("topic %s missing", name)
				continue
			}
			if len(d.Partitions) != parts {
				t.Errorf("topic %s has %d partitions, want %d", name, len(d.Partitions), parts)
			}
		}
	})

	t.Run("Valkey cluster via valkey-go", func(t *testing.T) {
		vc, err := valkey.NewClient(valkey.ClientOption{InitAddress: []string{ip(t, p, "valkey-1") + ":6379"}, ForceSingleClient: true})
		if err != nil {
			t.Fatal(err)
		}
		defer vc.Close()
		info, err := vc.Do(t.Context(), vc.B().ClusterInfo().Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_known_nodes:6", "cluster_size:3"} {
			if !strings.Contains(info, want) {
				t.Errorf("cluster info lacks %q:\n%s", want, info)
			}
		}
		nodes, err := vc.Do(t.Context(), vc.B().ClusterNodes().Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		if m, s := strings.Count(nodes, "master"), strings.Count(nodes, "slave"); m != 3 || s != 3 {
			t.Errorf("%d masters and %d replicas, want 3 and 3", m, s)
		}
	})

	t.Run("Postgres roles and databases via pgx", func(t *testing.T) {
		for _, c := range []struct {
			service, password, role string
			dbs                     []string
		}{
			{"mng-pg", "mng_pg_password", "mng_app", []string{"mng"}},
			{"pg-cluster", "pg_cluster_password", "app", []string{"orders", "payments"}},
		} {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres:%s@%s:5432/postgres?sslmode=disable", secret(t, c.password), ip(t, p, c.service)))
			if err != nil {
				cancel()
				t.Fatalf("%s: %v", c.service, err)
			}
			var login bool
			if err := conn.QueryRow(ctx, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", c.role).Scan(&login); err != nil || !login {
				t.Errorf("%s: role %s: login=%v err=%v", c.service, c.role, login, err)
			}
			for _, db := range c.dbs {
				var owner string
				err := conn.QueryRow(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", db).Scan(&owner)
				if err != nil || owner != c.role {
					t.Errorf("%s: database %s owner %q err %v", c.service, db, owner, err)
				}
			}
			conn.Close(ctx)
			cancel()
		}
	})

	// Second run: backends kept, inits re-run in fresh containers. It is
	// run as a CI script runs docker compose (-d --wait --wait-timeout in
	// seconds, #29): the same line works with infractl.
	r = infra(t, args("up", flags, "-d", "--wait", "--wait-timeout", "120", "--format", "json", "--logs-dir", logs)...)
	if r.code != 0 {
		t.Fatalf("second up: exit %d\n%s", r.code, r.stdout)
	}
	second := verdict(t, r.stdout)
	after := containerIDs(t, p)
	for _, s := range second.Services {
		switch s.Role {
		case "init":
			if after[s.Name] == before[s.Name] {
				t.Errorf("%s did not run in a fresh container", s.Name)
			}
			if s.Outcome != "ok" {
				t.Errorf("%s on the second run: %s", s.Name, s.Outcome)
			}
		default:
			if after[s.Name] != before[s.Name] || !s.Reused {
				t.Errorf("%s was recreated; an unchanged backend must be kept", s.Name)
			}
		}
	}
	log, err := os.ReadFile(filepath.Join(logs, "valkey-cluster-init.log"))
	if err != nil || !strings.Contains(string(log), "cluster already formed") {
		t.Errorf("valkey-cluster-init second run log: %q %v", log, err)
	}
}
