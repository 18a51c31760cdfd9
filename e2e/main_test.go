//go:build e2e

// Package e2e holds infractl's end-to-end tests: the real binary against the
// real Docker engine, with backends that are real servers in local images
// (make images). They run with `make e2e` (part of `make test`); in CI
// (CI=true) a missing engine or image is a failure, never a skip.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/report"
)

var (
	infractl string // the binary under test
	repo     string // repository root
	docker   *client.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	repo, err = filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "infractl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	infractl = filepath.Join(dir, "infractl")
	build := exec.Command("go", "build", "-o", infractl, "./cmd/infractl")
	build.Dir = repo
	// Static, as make build makes it: on a remote engine verify --audit runs
	// this binary in an empty container next to the backends.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build infractl: %v\n%s", err, out)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	docker, err = connect(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "end-to-end tests need a running Docker engine: %v\n", err)
		return 1
	}
	for _, img := range []string{"infractl/toolbox:latest", "infractl/debian:bookworm", "infractl/kafka:latest", "infractl/s3:latest", "infractl/infractl:latest"} {
		if _, err := docker.ImageInspect(ctx, img); err != nil {
			fmt.Fprintf(os.Stderr, "image %s is missing: run `make images` first (make e2e does): %v\n", img, err)
			return 1
		}
	}
	return m.Run()
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func fixture(name string) string { return filepath.Join(repo, "testdata", "compose", name) }

// infra runs infractl with args and returns its output and exit code.
func infra(t *testing.T, args ...string) result {
	t.Helper()
	return infraEnv(t, nil, args...)
}

// infraEnv runs infractl with env added to the environment.
func infraEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, infractl, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run infractl %v: %v", args, err)
	}
	t.Logf("infractl %s -> exit %d\nstderr:\n%s", strings.Join(args, " "), code, errb.String())
	return result{out.String(), errb.String(), code}
}

// project returns the flags for a fixture under a test-unique project name,
// and removes everything of that project when the test ends.
func project(t *testing.T, name string, extra ...string) []string {
	t.Helper()
	p := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(p) > 40 {
		p = p[:40]
	}
	flags := append([]string{"-f", filepath.Join(fixture(name), "compose.yaml"), "-p", p}, extra...)
	down(t, flags)
	t.Cleanup(func() { down(t, flags) })
	return flags
}

func down(t *testing.T, flags []string) {
	t.Helper()
	cmd := exec.Command(infractl, append([]string{"down", "-v", "--remove-orphans"}, flags...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("down: %v\n%s", err, out)
	}
}

func args(cmd string, flags []string, more ...string) []string {
	return append(append([]string{cmd}, flags...), more...)
}

// verdict decodes a JSON verdict.
func verdict(t *testing.T, s string) report.Verdict {
	t.Helper()
	var v report.Verdict
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode verdict: %v\n%s", err, s)
	}
	return v
}

func service(t *testing.T, v report.Verdict, name string) report.ServiceVerdict {
	t.Helper()
	for _, s := range v.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("service %q not in the verdict", name)
	return report.ServiceVerdict{}
}

// projectResources lists what exists with the project's label.
func projectResources(t *testing.T, p string) (containers, networks, volumes int) {
	t.Helper()
	f := client.Filters{}
	f.Add("label", engine.LabelProject+"="+p)
	cs, err := docker.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := docker.NetworkList(t.Context(), client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := docker.VolumeList(t.Context(), client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs.Items), len(ns.Items), len(vs.Items)
}

func projectName(flags []string) string {
	for i, f := range flags {
		if f == "-p" {
			return flags[i+1]
		}
	}
	return ""
}

// containerIDs maps service to container ID for a project.
func containerIDs(t *testing.T, p string) map[string]string {
	t.Helper()
	cs, err := projectContainers(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range cs {
		ids[c.Labels[engine.LabelService]] = c.ID
	}
	return ids
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// connect opens the tests' own engine client: the tests observe what
// infractl did independently of infractl's adapter.
func connect(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, err
	}
	return cli, nil
}

// projectContainers lists a project's containers, sorted by service.
func projectContainers(ctx context.Context, p string) ([]container.Summary, error) {
	f := client.Filters{}
	f.Add("label", engine.LabelProject+"="+p)
	res, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	items := res.Items
	sort.Slice(items, func(i, j int) bool {
		return items[i].Labels[engine.LabelService] < items[j].Labels[engine.LabelService] ||
			items[i].Labels[engine.LabelService] == items[j].Labels[engine.LabelService] && items[i].Created < items[j].Created
	})
	return items, nil
}

// engineDialer resolves service names, aliases and container names to the
// containers' addresses (as Docker DNS does inside the network) and dials.
func engineDialer(current map[string]container.InspectResponse) func(ctx context.Context, network, addr string) (net.Conn, error) {
	addrs := map[string]string{}
	for svc, c := range current {
		if c.NetworkSettings == nil {
			continue
		}
		for _, ep := range c.NetworkSettings.Networks {
			if ep == nil || !ep.IPAddress.IsValid() {
				continue
			}
			ip := ep.IPAddress.String()
			addrs[svc] = ip
			addrs[strings.TrimPrefix(c.Name, "/")] = ip
			for _, a := range ep.Aliases {
				addrs[a] = ip
			}
		}
	}
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil {
			if ip, ok := addrs[host]; ok {
				addr = net.JoinHostPort(ip, port)
			}
		}
		return d.DialContext(ctx, network, addr)
	}
}
