package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// swarmResult is one run of the Swarm stack with one tool: how many init
// attempts failed before every init succeeded, and when that was; for each
// dependency edge, the time from the target being ready (its healthcheck
// first passed, or the init it waits on exited) to the dependent's
// container starting, and Swarm's own part of it (the job's service
// created or updated -> its task's container started). A backend is
// ready when the manager reports its task running.
type swarmResult struct {
	Tool              string    `json:"tool"`
	Run               int       `json:"run"`
	FailedAttempts    int       `json:"failedInitAttempts"`
	AllInitsOKSeconds float64   `json:"allInitsExitedZeroSeconds"`
	EdgeSeconds       []float64 `json:"edgeSeconds"`
	SwarmStartSeconds []float64 `json:"swarmStartSeconds,omitempty"`
}

// The Swarm stack: a backend that serves only after 4 s, and inits that
// exit 1 when they cannot reach it (as real inits do without a retry
// loop); init-d also waits for init-a. docker stack deploy reads only the
// list form of depends_on and ignores it; infractl reads the conditions.
// Both files are otherwise the same; the inits restart on failure.
func swarmStacks(dir string) (stackFile, infractlFile string, err error) {
	body := func(dep func(deps ...string) string) string {
		var b strings.Builder
		b.WriteString("services:\n  db:\n    image: infractl/toolbox:latest\n")
		b.WriteString("    command: [\"sh\", \"-c\", \"sleep 4; exec httpd -f -p 5000\"]\n    stop_signal: SIGKILL\n")
		b.WriteString("    healthcheck: {test: [\"CMD-SHELL\", \"nc -w 1 127.0.0.1 5000 </dev/null\"], interval: 1s, retries: 60}\n")
		b.WriteString("    deploy: {endpoint_mode: dnsrr}\n")
		for _, n := range []string{"init-a", "init-b", "init-c", "init-d"} {
			fmt.Fprintf(&b, "  %s:\n    image: infractl/toolbox:latest\n", n)
			b.WriteString("    command: [\"sh\", \"-c\", \"nc -w 1 db 5000 </dev/null || { echo db is not ready; exit 1; }; echo provisioned\"]\n")
			deps := []string{"db"}
			if n == "init-d" {
				deps = append(deps, "init-a")
			}
			b.WriteString(dep(deps...))
			b.WriteString("    deploy: {mode: replicated-job, restart_policy: {condition: on-failure, delay: 1s}}\n")
		}
		return b.String()
	}
	stackFile, err = write(dir, "swarm-stack", body(func(deps ...string) string {
		return "    depends_on: [" + strings.Join(deps, ", ") + "]\n"
	}))
	if err != nil {
		return "", "", err
	}
	infractlFile, err = write(dir, "swarm-infractl", body(func(deps ...string) string {
		s := "    depends_on:\n"
		for _, d := range deps {
			cond := "service_healthy"
			if strings.HasPrefix(d, "init-") {
				cond = "service_completed_successfully"
			}
			s += fmt.Sprintf("      %s: {condition: %s}\n", d, cond)
		}
		return s
	}))
	return stackFile, infractlFile, err
}

var swarmInits = []string{"init-a", "init-b", "init-c", "init-d"}

// swarmBench runs the Swarm stack with docker stack deploy and with
// infractl up --orchestrator swarm, alternating, on a single-node Swarm it
// makes (and leaves) when the engine is not one.
func swarmBench(ctx context.Context, cli *client.Client, dir string, runs int, infractl string) ([]swarmResult, error) {
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, err
	}
	if info.Info.Swarm.LocalNodeState != swarm.LocalNodeStateActive {
		if out, err := exec.Command("docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("docker swarm init: %v: %s", err, out)
		}
		defer func() { _ = exec.Command("docker", "swarm", "leave", "--force").Run() }()
	}
	stackFile, infractlFile, err := swarmStacks(dir)
	if err != nil {
		return nil, err
	}
	const p = "bench-swarm"
	clean := func() error {
		_, _, _ = timed(ctx, nil, infractl, "down", "-v", "--orchestrator", "swarm", "-p", p)
		return nil
	}
	type runner struct {
		name string
		run  func() error
	}
	tools := []runner{
		{"docker stack deploy", func() error {
			_, _, err := timed(ctx, nil, "docker", "stack", "deploy", "-c", stackFile, p)
			return err
		}},
		{"infractl", func() error {
			_, _, err := timed(ctx, nil, infractl, "up", "--orchestrator", "swarm", "-f", infractlFile, "-p", p, "--logs-dir", filepath.Join(dir, "swarm-logs"))
			return err
		}},
	}
	var out []swarmResult
	for i := range runs {
		order := slices.Clone(tools)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			if err := clean(); err != nil {
				return nil, err
			}
			start := time.Now()
			if err := t.run(); err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			r, err := swarmMeasure(ctx, cli, p, start)
			_ = clean()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			r.Tool, r.Run = t.name, i+1
			if t.name != "infractl" {
				r.SwarmStartSeconds = nil // its jobs start at once, not on an edge
			}
			out = append(out, r)
			fmt.Fprintf(os.Stderr, "swarm %-20s run %d: %d failed init attempts, every init exited 0 after %6.2f s, edge median %.3f s\n",
				t.name, i+1, r.FailedAttempts, r.AllInitsOKSeconds, median(r.EdgeSeconds))
		}
	}
	return out, nil
}

// swarmMeasure waits until every init has a task that completed with exit
// 0 (bounded), then reads the tasks and their containers.
func swarmMeasure(ctx context.Context, cli *client.Client, p string, start time.Time) (swarmResult, error) {
	var r swarmResult
	type taskInfo struct {
		state              swarm.TaskState
		code               int
		started, finished  time.Time
		statusAt           time.Time
		serviceCreatedOrUp time.Time
	}
	read := func() (map[string][]taskInfo, error) {
		f := client.Filters{}
		f.Add("label", "com.docker.stack.namespace="+p)
		l, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
		if err != nil {
			return nil, err
		}
		out := map[string][]taskInfo{}
		for _, s := range l.Items {
			name := strings.TrimPrefix(s.Spec.Name, p+"_")
			tf := client.Filters{}
			tf.Add("service", s.ID)
			tl, err := cli.TaskList(ctx, client.TaskListOptions{Filters: tf})
			if err != nil {
				return nil, err
			}
			for _, t := range tl.Items {
				ti := taskInfo{state: t.Status.State, statusAt: t.Status.Timestamp, serviceCreatedOrUp: s.CreatedAt}
				if !s.UpdatedAt.IsZero() && s.UpdatedAt.After(s.CreatedAt) && s.Spec.Mode.ReplicatedJob != nil {
					ti.serviceCreatedOrUp = s.UpdatedAt
				}
				if cs := t.Status.ContainerStatus; cs != nil && cs.ContainerID != "" {
					ti.code = cs.ExitCode
					if insp, err := cli.ContainerInspect(ctx, cs.ContainerID, client.ContainerInspectOptions{}); err == nil && insp.Container.State != nil {
						st := insp.Container.State
						ti.started, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
						ti.finished, _ = time.Parse(time.RFC3339Nano, st.FinishedAt)
					}
				}
				out[name] = append(out[name], ti)
			}
		}
		return out, nil
	}
	ok := func(ts []taskInfo) (taskInfo, bool) {
		for _, t := range ts {
			if t.state == swarm.TaskStateComplete && t.code == 0 {
				return t, true
			}
		}
		return taskInfo{}, false
	}
	var tasks map[string][]taskInfo
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if tasks, err = read(); err != nil {
			return r, err
		}
		done := true
		for _, n := range swarmInits {
			if _, good := ok(tasks[n]); !good {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("not every init exited 0 within 3 minutes")
		}
	}
	// The backend is ready when its task became "running" in the
	// manager (after its healthcheck passed): the task's status timestamp.
	// (The container's health log keeps only its last 5 checks.)
	var dbReady time.Time
	for _, t := range tasks["db"] {
		if t.state == swarm.TaskStateRunning {
			dbReady = t.statusAt
		}
	}
	var last time.Time
	for _, n := range swarmInits {
		good, _ := ok(tasks[n])
		for _, t := range tasks[n] {
			if t.state == swarm.TaskStateFailed || t.state == swarm.TaskStateComplete && t.code != 0 {
				r.FailedAttempts++
			}
		}
		if good.finished.After(last) {
			last = good.finished
		}
		ready := dbReady
		if n == "init-d" {
			if a, _ := ok(tasks["init-a"]); a.finished.After(ready) {
				ready = a.finished
			}
		}
		r.EdgeSeconds = append(r.EdgeSeconds, good.started.Sub(ready).Seconds())
		r.SwarmStartSeconds = append(r.SwarmStartSeconds, good.started.Sub(good.serviceCreatedOrUp).Seconds())
	}
	r.AllInitsOKSeconds = last.Sub(start).Seconds()
	return r, nil
}

// printSwarm prints the Swarm comparison.
func printSwarm(rs []swarmResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("Swarm: docker stack deploy vs infractl up --orchestrator swarm (a backend ready after ~4 s, 4 inits that exit 1 while it is not)")
	fmt.Printf("%-20s %22s %26s %22s %22s\n", "tool", "failed init attempts", "every init exited 0 (s)", "edge ready->start (s)", "Swarm's own start (s)")
	for _, tool := range []string{"docker stack deploy", "infractl"} {
		var failed, all, edges, starts []float64
		for _, r := range rs {
			if r.Tool != tool {
				continue
			}
			failed = append(failed, float64(r.FailedAttempts))
			all = append(all, r.AllInitsOKSeconds)
			edges = append(edges, r.EdgeSeconds...)
			starts = append(starts, r.SwarmStartSeconds...)
		}
		st := "-"
		if len(starts) > 0 {
			st = fmt.Sprintf("%.3f", median(starts))
		}
		fmt.Printf("%-20s %22.0f %26.2f %22.3f %22s\n", tool, median(failed), median(all), median(edges), st)
	}
	var stack, ours []float64
	for _, r := range rs {
		if r.Tool == "infractl" {
			ours = append(ours, r.AllInitsOKSeconds)
		} else {
			stack = append(stack, r.AllInitsOKSeconds)
		}
	}
	if m := median(stack); m > 0 {
		fmt.Printf("every init exited 0: infractl / docker stack deploy = %.2fx (medians); infractl's dispatch per edge = edge - Swarm's own start\n", median(ours)/m)
	}
}
