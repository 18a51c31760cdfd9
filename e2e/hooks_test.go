//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// hookRun is what one tool left after an `up` of testdata/compose/e2e-hooks:
// its exit code, the state and ID of each service's container, the runners
// left (name: exit code) and the volume's content.
type hookRun struct {
	code    int
	state   map[string]string // service -> created|running|exited
	ids     map[string]string
	runners map[string]int
	ready   string // /data/ready: what app reads
	runs    int    // lines in /data/runs: runs of hook 0
	out     string
}

// hookTool runs `up` of the hooks fixture under project p with one tool,
// then looks at what is there with the e2e's own engine client.
type hookTool struct {
	name string
	up   func(t *testing.T, p string, env []string, extra ...string) (int, string)
}

var hookTools = []hookTool{
	{"docker compose v5.6.0", func(t *testing.T, p string, env []string, extra ...string) (int, string) {
		out, err := dockerComposeEnv(t, env, append([]string{"-f", filepath.Join(fixture("e2e-hooks"), "compose.yaml"), "-p", p, "up", "-d"}, extra...)...)
		var ee *exec.ExitError
		if errorsAs(err, &ee) {
			return ee.ExitCode(), out
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out
	}},
	{"infractl", func(t *testing.T, p string, env []string, extra ...string) (int, string) {
		r := infraEnv(t, env, append([]string{"up", "-f", filepath.Join(fixture("e2e-hooks"), "compose.yaml"), "-p", p}, extra...)...)
		return r.code, r.stdout + r.stderr
	}},
}

func observeHooks(t *testing.T, p string, code int, out string) hookRun {
	t.Helper()
	h := hookRun{code: code, out: out, state: map[string]string{}, ids: map[string]string{}, runners: map[string]int{}}
	cs, err := projectContainers(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		insp, err := docker.ContainerInspect(t.Context(), c.ID, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(insp.Container.Name, "/")
		if c.Labels["com.docker.compose.hook"] == "pre_start" {
			h.runners[strings.TrimPrefix(name, p+"-")] = insp.Container.State.ExitCode
			continue
		}
		svc := c.Labels["com.docker.compose.service"]
		h.state[svc] = string(insp.Container.State.Status)
		h.ids[svc] = c.ID
	}
	read := func(file string) string {
		cmd := exec.Command("docker", "run", "--rm", "-v", p+"_data:/data", "infractl/toolbox:latest", "sh", "-c", "cat /data/"+file+" 2>/dev/null || true")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("read %s of %s: %v", file, p, err)
		}
		return strings.TrimSpace(string(b))
	}
	h.ready = read("ready")
	if r := read("runs"); r != "" {
		h.runs = len(strings.Split(r, "\n"))
	}
	return h
}

// hooksProject is a fresh project name per tool, removed when the test ends.
func hooksProject(t *testing.T, tool int) string {
	p := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(p) > 36 {
		p = p[:36]
	}
	p += []string{"-dc", "-ic"}[tool]
	flags := []string{"-f", filepath.Join(fixture("e2e-hooks"), "compose.yaml"), "-p", p}
	down(t, flags)
	t.Cleanup(func() { down(t, flags) })
	return p
}

// TestE2EHooksAsComposeRunsThem replays docker compose's own pre_start
// scenarios, each through docker compose v5.6.0 and through infractl in the
// same test, and compares what each left on the engine.
func TestE2EHooksAsComposeRunsThem(t *testing.T) {
	type step struct {
		env   []string
		extra []string
	}
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, first, last hookRun)
	}{
		{"the service reads what its two hooks prepared, in order", []step{{}}, func(t *testing.T, _, h hookRun) {
			if h.code != 0 || h.state["app"] != "running" || h.ready != "prepared by hook 0\nand hook 1" || len(h.runners) != 0 {
				t.Errorf("exit %d, app %s, ready %q, runners %v; want 0, running, both hooks' lines in order, no runner left", h.code, h.state["app"], h.ready, h.runners)
			}
		}},
		{"a failure in the second hook fails up after the first ran", []step{{env: []string{"HOOK_FAIL=1"}}}, func(t *testing.T, _, h hookRun) {
			if h.code != 1 || h.state["app"] != "created" || h.state["web"] != "created" || h.ready != "prepared by hook 0" {
				t.Errorf("exit %d, app %s, web %s, ready %q; want 1, app and web created, hook 0's line only", h.code, h.state["app"], h.state["web"], h.ready)
			}
			if code, ok := h.runners["app-pre_start-1"]; !ok || code != 5 || len(h.runners) != 1 {
				t.Errorf("runners %v; want only app-pre_start-1, exited 5, kept for inspection", h.runners)
			}
			if !strings.Contains(h.out, "pre_start[1]") || !strings.Contains(h.out, "5") {
				t.Errorf("output does not name pre_start[1] and its exit code:\n%s", h.out)
			}
		}},
		{"an unchanged second up keeps the container and does not rerun the hooks", []step{{}, {}}, func(t *testing.T, first, h hookRun) {
			if h.code != 0 || h.ids["app"] != first.ids["app"] || h.runs != 1 {
				t.Errorf("exit %d, app %s -> %s, hook 0 ran %d times; want 0, the same container, once", h.code, first.ids["app"], h.ids["app"], h.runs)
			}
		}},
		{"a changed definition recreates the service and reruns its hooks", []step{{}, {env: []string{"GREETING=changed"}}}, func(t *testing.T, first, h hookRun) {
			if h.code != 0 || h.ids["app"] == first.ids["app"] || h.runs != 2 || h.ready != "changed by hook 0\nand hook 1" {
				t.Errorf("exit %d, app recreated %v, hook 0 ran %d times, ready %q; want 0, recreated, twice, the new greeting", h.code, h.ids["app"] != first.ids["app"], h.runs, h.ready)
			}
		}},
		{"--force-recreate reruns them", []step{{}, {extra: []string{"--force-recreate"}}}, func(t *testing.T, first, h hookRun) {
			if h.code != 0 || h.ids["app"] == first.ids["app"] || h.runs != 2 || h.state["app"] != "running" {
				t.Errorf("exit %d, app recreated %v, hook 0 ran %d times, app %s; want 0, recreated, twice, running", h.code, h.ids["app"] != first.ids["app"], h.runs, h.state["app"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string][2]hookRun{}
			for i, tool := range hookTools {
				p := hooksProject(t, i)
				var runs []hookRun
				for _, s := range tt.steps {
					code, out := tool.up(t, p, s.env, s.extra...)
					runs = append(runs, observeHooks(t, p, code, out))
				}
				t.Run(tool.name, func(t *testing.T) { tt.check(t, runs[0], runs[len(runs)-1]) })
				got[tool.name] = [2]hookRun{runs[0], runs[len(runs)-1]}
			}
			// Parity: both tools left the same states, runners and data.
			dc, ic := got[hookTools[0].name][1], got[hookTools[1].name][1]
			if !sameMap(dc.state, ic.state) || !sameIntMap(dc.runners, ic.runners) || dc.ready != ic.ready || dc.runs != ic.runs || dc.code != ic.code {
				t.Errorf("docker compose and infractl differ:\n compose:  exit %d states %v runners %v ready %q runs %d\n infractl: exit %d states %v runners %v ready %q runs %d",
					dc.code, dc.state, dc.runners, dc.ready, dc.runs, ic.code, ic.state, ic.runners, ic.ready, ic.runs)
			}
		})
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sameIntMap(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestE2EHooksInteropWithCompose: a project with hooks brought up by one
// tool and then by the other: no container is recreated and no hook runs
// twice, both ways.
func TestE2EHooksInteropWithCompose(t *testing.T) {
	for i, first := range hookTools {
		second := hookTools[1-i]
		t.Run(first.name+" then "+second.name, func(t *testing.T) {
			p := hooksProject(t, i)
			code, out := first.up(t, p, nil)
			a := observeHooks(t, p, code, out)
			code, out = second.up(t, p, nil)
			b := observeHooks(t, p, code, out)
			if a.code != 0 || b.code != 0 {
				t.Fatalf("exit %d then %d", a.code, b.code)
			}
			for _, svc := range []string{"db", "app", "web"} {
				if a.ids[svc] == "" || a.ids[svc] != b.ids[svc] {
					t.Errorf("%s: container %.12s then %.12s; want it kept", svc, a.ids[svc], b.ids[svc])
				}
			}
			if b.runs != 1 || b.state["app"] != "running" {
				t.Errorf("hook 0 ran %d times, app %s; want once, running", b.runs, b.state["app"])
			}
		})
	}
}

// TestE2EVerifyReadsHookResults: verify after docker compose v5.6.0 ran
// the hooks: VAL-AUTO-002 passes them when they succeeded (their runners
// are gone) and names the failed one with its exit code; --rerun runs them
// again (VAL-SPC-101).
func TestE2EVerifyReadsHookResults(t *testing.T) {
	p := hooksProject(t, 0)
	flags := []string{"-f", filepath.Join(fixture("e2e-hooks"), "compose.yaml"), "-p", p}
	if code, _ := hookTools[0].up(t, p, nil); code != 0 {
		t.Fatalf("docker compose up: exit %d", code)
	}
	r := infra(t, args("verify", flags, "--rerun", "--format", "json")...)
	v := verdict(t, r.stdout)
	if r.code != 0 {
		t.Fatalf("verify: exit %d\n%s", r.code, r.stdout)
	}
	for _, id := range []string{"VAL-AUTO-002", "VAL-SPC-101"} {
		c := check(t, v, id)
		for _, h := range []string{"app/pre_start[0]", "app/pre_start[1]"} {
			if res := checkResult(t, c, h); res.Status != "pass" {
				t.Errorf("%s %s: %s %q", id, h, res.Status, res.Message)
			}
		}
	}
	// The second run left no runner behind, as a successful up does not.
	if h := observeHooks(t, p, 0, ""); len(h.runners) != 0 || h.runs != 2 {
		t.Errorf("after verify --rerun: runners %v, hook 0 ran %d times; want none left, twice (compose's run, verify's)", h.runners, h.runs)
	}

	down(t, flags)
	if code, _ := hookTools[0].up(t, p, []string{"HOOK_FAIL=1"}); code == 0 {
		t.Fatal("docker compose up with a failing hook exited 0")
	}
	r = infraEnv(t, []string{"HOOK_FAIL=1"}, args("verify", flags, "--format", "json")...)
	if r.code != 1 {
		t.Fatalf("verify: exit %d, want 1\n%s", r.code, r.stdout)
	}
	c := check(t, verdict(t, r.stdout), "VAL-AUTO-002")
	if res := checkResult(t, c, "app/pre_start[1]"); res.Status != "fail" || res.Message != "failed (exit 5)" {
		t.Errorf("app/pre_start[1]: %s %q, want fail \"failed (exit 5)\"", res.Status, res.Message)
	}
	if res := checkResult(t, c, "app/pre_start[0]"); res.Status != "pass" {
		t.Errorf("app/pre_start[0]: %s %q, want pass (it ran before pre_start[1])", res.Status, res.Message)
	}
	if res := checkResult(t, c, "app"); res.Status != "fail" || res.Message != "created, never started" {
		t.Errorf("app: %s %q", res.Status, res.Message)
	}
}

// TestE2EHooksWithReplicas: deploy.replicas: 2 (here --scale app=2) runs
// the hook once and starts two replicas, through docker compose v5.6.0 and
// infractl alike.
func TestE2EHooksWithReplicas(t *testing.T) {
	got := map[string]string{}
	for i, tool := range hookTools {
		p := hooksProject(t, i)
		code, out := tool.up(t, p, nil, "--scale", "app=2")
		h := observeHooks(t, p, code, out)
		cs, err := projectContainers(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		var apps []string
		for _, c := range cs {
			if c.Labels["com.docker.compose.service"] == "app" && c.Labels["com.docker.compose.hook"] == "" {
				apps = append(apps, strings.TrimPrefix(c.Names[0], "/"+p+"-")+"="+string(c.State))
			}
		}
		sort.Strings(apps)
		got[tool.name] = fmt.Sprintf("exit %d, %s, hook 0 ran %d times", code, strings.Join(apps, " "), h.runs)
		if want := "exit 0, app-1=running app-2=running, hook 0 ran 1 times"; got[tool.name] != want {
			t.Errorf("%s: %s; want %s", tool.name, got[tool.name], want)
		}
	}
}
