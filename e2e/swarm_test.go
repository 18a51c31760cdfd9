//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/dockerapi"
	"github.com/infractl/infractl/internal/report"
)

// swarmUp makes this engine a single-node Swarm for the test (`docker swarm
// init --advertise-addr 127.0.0.1`) and leaves it when the test ends; an
// engine that already was a Swarm is left as it was.
func swarmUp(t *testing.T) {
	t.Helper()
	info, err := docker.Info(t.Context(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Info.Swarm.LocalNodeState == swarm.LocalNodeStateActive {
		return
	}
	if out, err := exec.Command("docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("docker swarm init: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
			t.Errorf("docker swarm leave: %v\n%s", err, out)
		}
	})
}

// stackTasks maps a stack's services (compose names) to their tasks.
func stackTasks(t *testing.T, stack string) (map[string]swarm.Service, map[string][]swarm.Task) {
	t.Helper()
	f := client.Filters{}
	f.Add("label", dockerapi.LabelStackNamespace+"="+stack)
	l, err := docker.ServiceList(t.Context(), client.ServiceListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	svcs, tasks := map[string]swarm.Service{}, map[string][]swarm.Task{}
	for _, s := range l.Items {
		name := strings.TrimPrefix(s.Spec.Name, stack+"_")
		svcs[name] = s
		tf := client.Filters{}
		tf.Add("service", s.ID)
		tl, err := docker.TaskList(t.Context(), client.TaskListOptions{Filters: tf})
		if err != nil {
			t.Fatal(err)
		}
		tasks[name] = tl.Items
	}
	return svcs, tasks
}

// stackLeft counts what carries the stack's namespace label.
func stackLeft(t *testing.T, stack string) map[string]int {
	t.Helper()
	ctx := t.Context()
	f := client.Filters{}
	f.Add("label", dockerapi.LabelStackNamespace+"="+stack)
	left := map[string]int{}
	if l, err := docker.ServiceList(ctx, client.ServiceListOptions{Filters: f}); err == nil {
		left["services"] = len(l.Items)
	}
	if l, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: f}); err == nil {
		left["networks"] = len(l.Items)
	}
	if l, err := docker.SecretList(ctx, client.SecretListOptions{Filters: f}); err == nil {
		left["secrets"] = len(l.Items)
	}
	if l, err := docker.ConfigList(ctx, client.ConfigListOptions{Filters: f}); err == nil {
		left["configs"] = len(l.Items)
	}
	if l, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		left["containers"] = len(l.Items)
	}
	if l, err := docker.VolumeList(ctx, client.VolumeListOptions{Filters: f}); err == nil {
		left["volumes"] = len(l.Items)
	}
	return left
}

func swarmDown(t *testing.T, stack string) {
	t.Helper()
	if out, err := exec.Command(infractl, "down", "-v", "--orchestrator", "swarm", "-p", stack).CombinedOutput(); err != nil {
		t.Logf("down: %v\n%s", err, out)
	}
}

// containerTimes are a task container's start and end, and when its
// healthcheck first passed (zero: none did).
func containerTimes(t *testing.T, id string) (started, finished, healthy time.Time) {
	t.Helper()
	insp, err := docker.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := insp.Container.State
	started, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
	finished, _ = time.Parse(time.RFC3339Nano, st.FinishedAt)
	if st.Health != nil {
		for _, h := range st.Health.Log {
			if h.ExitCode == 0 && (healthy.IsZero() || h.End.Before(healthy)) {
				healthy = h.End
			}
		}
	}
	return started, finished, healthy
}

// iteration is a job's current iteration (Swarm counts the runs of a job).
func iteration(s swarm.Service) uint64 {
	if s.JobStatus == nil {
		return 0
	}
	return s.JobStatus.JobIteration.Index
}

// jobDone reports whether the job's tasks of iteration it all completed
// with exit 0.
func jobDone(ts []swarm.Task, it uint64) bool {
	n := 0
	for _, t := range ts {
		var i uint64
		if t.JobIteration != nil {
			i = t.JobIteration.Index
		}
		if i != it {
			continue
		}
		n++
		if t.Status.State != swarm.TaskStateComplete || t.Status.ContainerStatus == nil || t.Status.ContainerStatus.ExitCode != 0 {
			return false
		}
	}
	return n > 0
}

// TestE2ESwarm runs the init phase on a real single-node Swarm.
func TestE2ESwarm(t *testing.T) {
	info, err := docker.Info(t.Context(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Info.Swarm.LocalNodeState != swarm.LocalNodeStateActive {
		// Not a Swarm yet: --orchestrator swarm says so, exit 3.
		r := infra(t, "up", "--orchestrator", "swarm", "-f", filepath.Join(fixture("chain"), "compose.yaml"), "-p", "e2e-swarm-none")
		if r.code != 3 || !strings.Contains(r.stderr, "is not part of a Swarm") || !strings.Contains(r.stderr, "docker swarm init") {
			t.Errorf("up --orchestrator swarm on a plain engine: exit %d\n%s", r.code, r.stderr)
		}
	}
	swarmUp(t)
	t.Run("refused", testSwarmRefused)
	t.Run("demo", testSwarmDemo)
	t.Run("failing init", testSwarmFailingInit)
	t.Run("second up and rerun", testSwarmSecondUp)
	t.Run("pre_start hooks", testSwarmHooks)
	t.Run("interrupted", testSwarmInterrupt)
}

// testSwarmRefused: what Swarm cannot run is refused by name before
// anything is created (exit 2), and INFRACTL_ORCHESTRATOR chooses Swarm.
func testSwarmRefused(t *testing.T) {
	const stack = "e2e-swarm-refused"
	dir := t.TempDir()
	yaml := `services:
  db:
    image: infractl/toolbox:latest
    container_name: fixed-db
    command: ["sleep", "3600"]
  db-init:
    image: infractl/toolbox:latest
    restart: "no"
    privileged: true
    command: ["true"]
    depends_on: [db]
`
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r := infraEnv(t, []string{"INFRACTL_ORCHESTRATOR=swarm"}, "up", "-f", filepath.Join(dir, "compose.yaml"), "-p", stack)
	if r.code != 2 || !strings.Contains(r.stderr, `service "db": container_name (Swarm names task containers itself)`) ||
		!strings.Contains(r.stderr, `service "db-init": privileged (Swarm services cannot run privileged)`) || strings.Count(r.stderr, "ERROR:") != 1 {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if left := stackLeft(t, stack); left["services"]+left["networks"]+left["secrets"]+left["configs"] != 0 {
		t.Errorf("a refused run created %v", left)
	}
}

// testSwarmDemo: the demo stack (PostgreSQL, a Redis cluster, Kafka-protocol
// brokers, S3) deploys with --orchestrator swarm: every init is a job whose
// only task exits 0, each started after what it depends on was healthy (or
// complete), read from the engine; verify --audit passes; docker stack
// services sees every service and docker stack rm removes them; no secret
// is printed.
func testSwarmDemo(t *testing.T) {
	const stack = "e2e-swarm-demo"
	flags := []string{"--orchestrator", "swarm", "-f", filepath.Join(fixture("demo"), "compose.yaml"), "--env-file", filepath.Join(fixture("demo"), ".env.example"), "-p", stack}
	swarmDown(t, stack)
	t.Cleanup(func() { swarmDown(t, stack) })
	var printed strings.Builder
	r := infra(t, args("up", flags, "--format", "json", "--logs-dir", t.TempDir())...)
	printed.WriteString(r.stdout + r.stderr)
	if r.code != 0 {
		t.Fatalf("up --orchestrator swarm: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	v := verdict(t, r.stdout)
	for _, s := range v.Services {
		if s.Outcome != "ok" {
			t.Errorf("%s: %s", s.Name, s.Outcome)
		}
	}

	m, err := compose.Load(t.Context(), compose.Options{Files: []string{filepath.Join(fixture("demo"), "compose.yaml")},
		EnvFiles: []string{filepath.Join(fixture("demo"), ".env.example")}, ProjectName: stack})
	if err != nil {
		t.Fatal(err)
	}
	svcs, tasks := stackTasks(t, stack)
	if len(svcs) != len(m.Names) {
		t.Errorf("%d Swarm services, want %d", len(svcs), len(m.Names))
	}
	// When each service was ready, from the engine's own records: a
	// backend's task became "running" (Swarm reports that once its
	// healthcheck passed) at its status timestamp; a job's container
	// started and finished.
	type times struct{ started, finished, ready time.Time }
	at := map[string]times{}
	for name, ts := range tasks {
		for _, task := range ts {
			if task.DesiredState == swarm.TaskStateShutdown {
				continue
			}
			var tm times
			if task.Status.ContainerStatus != nil && task.Status.ContainerStatus.ContainerID != "" {
				tm.started, tm.finished, _ = containerTimes(t, task.Status.ContainerStatus.ContainerID)
			}
			if task.Status.State == swarm.TaskStateRunning {
				tm.ready = task.Status.Timestamp
			}
			at[name] = tm
		}
	}
	for _, s := range m.Inits() {
		svc := svcs[s.Name]
		if svc.Spec.Mode.ReplicatedJob == nil {
			t.Errorf("init %s is not a replicated job: %+v", s.Name, svc.Spec.Mode)
		}
		// First try: one task, complete, exit 0.
		ts := tasks[s.Name]
		if len(ts) != 1 || ts[0].Status.State != swarm.TaskStateComplete || ts[0].Status.ContainerStatus == nil || ts[0].Status.ContainerStatus.ExitCode != 0 {
			t.Errorf("init %s: %d tasks, want one that completed with exit 0 (%+v)", s.Name, len(ts), ts)
			continue
		}
		for _, e := range s.Deps {
			dep, me := at[e.To], at[s.Name]
			switch e.Condition {
			case "service_healthy":
				if dep.ready.IsZero() || me.started.Before(dep.ready) {
					t.Errorf("%s started at %s, before %s's task was running and healthy (%s)", s.Name, me.started, e.To, dep.ready)
				}
			case "service_completed_successfully":
				if me.started.Before(dep.finished) {
					t.Errorf("%s started at %s, before %s completed (%s)", s.Name, me.started, e.To, dep.finished)
				}
			}
		}
	}

	r = infra(t, args("verify", flags, "--audit", "--format", "json")...)
	printed.WriteString(r.stdout + r.stderr)
	v = verdict(t, r.stdout)
	if c := check(t, v, report.ReqAudit); r.code != 0 || c.Status != report.Pass {
		t.Errorf("verify --audit --orchestrator swarm: exit %d, %+v", r.code, c)
	}

	out, err := exec.Command("docker", "stack", "services", stack, "--format", "{{.Name}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker stack services: %v\n%s", err, out)
	}
	if n := len(strings.Fields(string(out))); n != len(m.Names) {
		t.Errorf("docker stack services lists %d services, want %d:\n%s", n, len(m.Names), out)
	}
	for _, name := range []string{"mng_pg_password", "pg_cluster_password", "s3_access_key", "s3_secret_key", "pg_app_password", "mng_app_password"} {
		if strings.Contains(printed.String(), secret(t, name)) {
			t.Errorf("the value of secret %s was printed", name)
		}
	}
	if out, err := exec.Command("docker", "stack", "rm", stack).CombinedOutput(); err != nil {
		t.Fatalf("docker stack rm: %v\n%s", err, out)
	}
	// docker stack rm removes services, secrets and configs at once, and
	// networks once their tasks are gone.
	deadline := time.Now().Add(60 * time.Second)
	for {
		left := stackLeft(t, stack)
		if left["services"]+left["networks"]+left["secrets"]+left["configs"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after docker stack rm: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// What docker stack rm leaves by design (volumes) or by the engine's
	// way with jobs (their tasks' exited containers), infractl down removes.
	swarmDown(t, stack)
	if left := stackLeft(t, stack); left["containers"]+left["volumes"] != 0 {
		t.Errorf("after infractl down -v: %v", left)
	}
}

// testSwarmFailingInit: an init whose job exits 3 blocks what depends on
// it (never created on the Swarm), the independent init finishes, up exits
// 1 naming it, with its log tail.
func testSwarmFailingInit(t *testing.T) {
	const stack = "e2e-swarm-fail"
	flags := []string{"--orchestrator", "swarm", "-f", filepath.Join(fixture("e2e-fail-init"), "compose.yaml"), "-p", stack}
	swarmDown(t, stack)
	t.Cleanup(func() { swarmDown(t, stack) })
	r := infra(t, args("up", flags, "--format", "json", "--logs-dir", t.TempDir())...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	v := verdict(t, r.stdout)
	bad := service(t, v, "bad-init")
	if bad.ExitCode == nil || *bad.ExitCode != 3 || bad.Outcome != "failed (exit 3)" || !strings.Contains(strings.Join(bad.LogTail, "\n"), "permission denied for database") {
		t.Errorf("bad-init = %+v", bad)
	}
	for _, s := range []struct{ name, by string }{{"after-bad", "bad-init"}, {"app", "after-bad"}} {
		if got := service(t, v, s.name).Outcome; got != "blocked by "+s.by {
			t.Errorf("%s: %q, want blocked by %s", s.name, got, s.by)
		}
	}
	if got := service(t, v, "good-init").Outcome; got != "ok" {
		t.Errorf("good-init: %q", got)
	}
	svcs, tasks := stackTasks(t, stack)
	for _, name := range []string{"after-bad", "app"} {
		if _, ok := svcs[name]; ok {
			t.Errorf("%s was deployed though what it waits on failed", name)
		}
	}
	if ts := tasks["bad-init"]; len(ts) != 1 || ts[0].Status.State != swarm.TaskStateFailed {
		t.Errorf("bad-init's job: %d tasks (%+v), want one failed (restart: \"no\" is condition none)", len(ts), ts)
	}
	r = infra(t, args("up", flags)...)
	if r.code != 1 || !strings.Contains(r.stdout, "bad-init") || !strings.Contains(r.stdout, "failed (exit 3)") {
		t.Errorf("text verdict:\n%s", r.stdout)
	}
}

// testSwarmSecondUp: a second up keeps the unchanged backend (its service
// is not updated) and runs the init again (its job's next iteration);
// verify --rerun runs it once more; down removes everything.
func testSwarmSecondUp(t *testing.T) {
	const stack = "e2e-swarm-again"
	flags := []string{"--orchestrator", "swarm", "-f", filepath.Join(fixture("e2e-remote"), "compose.yaml"), "-p", stack}
	swarmDown(t, stack)
	t.Cleanup(func() { swarmDown(t, stack) })
	logs := t.TempDir()
	if r := infra(t, args("up", flags, "--logs-dir", logs)...); r.code != 0 {
		t.Fatalf("up: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	before, _ := stackTasks(t, stack)
	if r := infra(t, args("up", flags, "--logs-dir", logs)...); r.code != 0 {
		t.Fatalf("second up: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	after, tasks := stackTasks(t, stack)
	if before["minio"].Version.Index != after["minio"].Version.Index {
		t.Errorf("the unchanged backend was updated (version %d -> %d)", before["minio"].Version.Index, after["minio"].Version.Index)
	}
	if iteration(before["s3-init"])+1 != iteration(after["s3-init"]) || !jobDone(tasks["s3-init"], iteration(after["s3-init"])) {
		t.Errorf("the second up did not run s3-init's job again to completion (iteration %d -> %d)", iteration(before["s3-init"]), iteration(after["s3-init"]))
	}
	b, err := os.ReadFile(filepath.Join(logs, "s3-init.log"))
	if err != nil || !strings.Contains(string(b), "bucket landing: exists") {
		t.Errorf("the second run's log: %v\n%s", err, b)
	}
	r := infra(t, args("verify", flags, "--rerun", "--format", "json")...)
	v := verdict(t, r.stdout)
	if c := check(t, v, report.ReqIdempotent); r.code != 0 || c.Status != report.Pass {
		t.Errorf("verify --rerun: exit %d, %+v", r.code, c)
	}
	// The manager records a task's end a moment after the engine saw it:
	// wait for it (bounded), do not time it.
	var again map[string]swarm.Service
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		again, tasks = stackTasks(t, stack)
		if jobDone(tasks["s3-init"], iteration(again["s3-init"])) || time.Now().After(deadline) {
			break
		}
	}
	if iteration(again["s3-init"]) != iteration(after["s3-init"])+1 || !jobDone(tasks["s3-init"], iteration(again["s3-init"])) {
		t.Errorf("verify --rerun did not run s3-init's job again (iteration %d -> %d)", iteration(after["s3-init"]), iteration(again["s3-init"]))
	}
	if r := infra(t, args("down", flags, "-v")...); r.code != 0 {
		t.Errorf("down: exit %d\n%s", r.code, r.stderr)
	}
	if left := stackLeft(t, stack); left["services"]+left["networks"]+left["secrets"]+left["configs"]+left["containers"]+left["volumes"] != 0 {
		t.Errorf("after down: %v", left)
	}
}

// testSwarmHooks: pre_start hooks run as jobs, in order, with their
// service's volume, before the service is deployed; the service reads what
// they prepared; a job that succeeded is removed (as compose removes a
// hook's runner). A failing hook: exit 1, its job kept with its exit code,
// the service never deployed.
func testSwarmHooks(t *testing.T) {
	const stack = "e2e-swarm-hooks"
	flags := []string{"--orchestrator", "swarm", "-f", filepath.Join(fixture("e2e-hooks"), "compose.yaml"), "-p", stack}
	swarmDown(t, stack)
	t.Cleanup(func() { swarmDown(t, stack) })
	r := infra(t, args("up", flags, "--format", "json", "--logs-dir", t.TempDir())...)
	if r.code != 0 {
		t.Fatalf("up: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	v := verdict(t, r.stdout)
	h0, h1 := service(t, v, "app/pre_start[0]"), service(t, v, "app/pre_start[1]")
	if h0.Outcome != "ok" || h1.Outcome != "ok" || h1.StartedAt.Before(h0.FinishedAt) {
		t.Errorf("hooks: %+v %+v", h0, h1)
	}
	svcs, _ := stackTasks(t, stack)
	for name := range svcs {
		if strings.Contains(name, "pre_start") {
			t.Errorf("the job of a hook that succeeded is still there: %s", name)
		}
	}
	// app's task prints what the hooks wrote; read it from the manager.
	var logs []byte
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		logs, _ = exec.Command("docker", "service", "logs", "--raw", stack+"_app").CombinedOutput()
		if strings.Contains(string(logs), "and hook 1") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(string(logs), "prepared by hook 0\nand hook 1") {
		t.Errorf("app read %q, want what both hooks wrote, in order", logs)
	}

	const failing = "e2e-swarm-hookfail"
	fflags := []string{"--orchestrator", "swarm", "-f", filepath.Join(fixture("e2e-hooks"), "compose.yaml"), "-p", failing}
	swarmDown(t, failing)
	t.Cleanup(func() { swarmDown(t, failing) })
	r = infraEnv(t, []string{"HOOK_FAIL=1"}, args("up", fflags, "--format", "json", "--logs-dir", t.TempDir())...)
	if r.code != 1 {
		t.Fatalf("a failing hook: exit %d, want 1\n%s", r.code, r.stdout)
	}
	v = verdict(t, r.stdout)
	if h := service(t, v, "app/pre_start[1]"); h.ExitCode == nil || *h.ExitCode != 5 || !strings.Contains(strings.Join(h.LogTail, "\n"), "schema missing") {
		t.Errorf("the failing hook: %+v", h)
	}
	if got := service(t, v, "app").Outcome; got != "blocked by app/pre_start[1]" {
		t.Errorf("app: %q", got)
	}
	svcs, _ = stackTasks(t, failing)
	if _, ok := svcs["app"]; ok {
		t.Error("app was deployed though its hook failed")
	}
	if _, ok := svcs["app-pre_start-1"]; !ok {
		t.Error("the failed hook's job was not kept for inspection")
	}
}

// testSwarmInterrupt: Ctrl-C while an init's job runs stops its task (the
// job fails, it is not left running), keeps the backend, prints the partial
// verdict and exits 130 with no ERROR line.
func testSwarmInterrupt(t *testing.T) {
	const stack = "e2e-swarm-int"
	swarmDown(t, stack)
	t.Cleanup(func() { swarmDown(t, stack) })
	cmd := exec.Command(infractl, "up", "--orchestrator", "swarm", "-f", filepath.Join(fixture("e2e-slow-init"), "compose.yaml"), "-p", stack, "--logs-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := client.Filters{}
	f.Add("label", dockerapi.LabelSwarmService+"="+stack+"_slow-init")
	f.Add("status", "running")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		l, err := docker.ContainerList(t.Context(), client.ContainerListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("slow-init's task never ran\n%s", out.String())
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(out.String(), "INTERRUPTED") || strings.Contains(out.String(), "ERROR:") {
		t.Errorf("exit %d, want 130 with the partial verdict and no ERROR line\n%s", code, out.String())
	}
	if l, err := docker.ContainerList(t.Context(), client.ContainerListOptions{Filters: f}); err != nil || len(l.Items) != 0 {
		t.Errorf("slow-init's task is still running (%v)", err)
	}
	_, tasks := stackTasks(t, stack)
	running := 0
	for _, tk := range tasks["db"] {
		if tk.Status.State == swarm.TaskStateRunning {
			running++
		}
	}
	if running != 1 {
		t.Errorf("the backend was not left running: %+v", tasks["db"])
	}
}
