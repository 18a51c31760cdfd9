// Command initbench measures infractl's init phase against docker compose
// v2, side by side on the same engine in the same run (make bench). Times
// come from the engine's own events; nothing here is a test.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

type tool struct {
	name string
	// up runs the tool; trace is a file infractl writes its dispatch trace
	// to (compose has none).
	up func(ctx context.Context, file, project, trace string) (time.Duration, int64, error)
}

type event struct {
	service, action string
	t               time.Time
}

// runResult is one run of one tool on one stack.
type runResult struct {
	Tool         string  `json:"tool"`
	Run          int     `json:"run"`
	PhaseSeconds float64 `json:"phaseSeconds"` // backends healthy -> app started
	FloorSeconds float64 `json:"floorSeconds"` // critical path of container start->exit
	// PathStarts is the number of container starts on the critical path
	// (the inits of the longest chain and the app): the floor with the
	// engine's start cost is FloorSeconds + PathStarts x its start latency.
	PathStarts    int       `json:"pathStarts"`
	WallSeconds   float64   `json:"wallSeconds"`
	MaxRSSKiB     int64     `json:"maxRssKiB"`
	EdgeLatencies []float64 `json:"edgeLatenciesSeconds"`
	// From infractl's --trace, per edge triggered by an engine event:
	// Overheads: the event's engine timestamp -> infractl's ContainerStart
	// call (the scheduling overhead; delivery + decision);
	// Deliveries: engine timestamp -> infractl received the event;
	// Decisions: received -> ContainerStart called;
	// EngineStarts: ContainerStart called -> the start event (the engine's
	// own start latency, in the run).
	Overheads    []float64 `json:"overheadsSeconds,omitempty"`
	Deliveries   []float64 `json:"deliveriesSeconds,omitempty"`
	Decisions    []float64 `json:"decisionsSeconds,omitempty"`
	EngineStarts []float64 `json:"engineStartsSeconds,omitempty"`
}

type stackResult struct {
	Stack string      `json:"stack"`
	Runs  []runResult `json:"runs"`
	// EngineStartSeconds is the engine's own start latency measured just
	// before this stack (it drifts during a long run).
	EngineStartSeconds []float64 `json:"engineStartSeconds"`
}

type report struct {
	Date               string             `json:"date"`
	Engine             string             `json:"engine"`
	APIVersion         string             `json:"apiVersion"`
	CPUs               int                `json:"cpus"`
	RunsPerStack       int                `json:"runsPerStack"`
	EngineStartSeconds []float64          `json:"engineStartSeconds"`
	Stacks             []stackResult      `json:"stacks"`
	Demo               []runResult        `json:"demo"`
	Scale              []scaleResult      `json:"scale"`
	Hooks              []hookResult       `json:"hooks"`
	Swarm              []swarmResult      `json:"swarm,omitempty"`
	Summary            map[string]summary `json:"summary"`
}

type summary struct {
	Median, Min, Max float64
}

func main() {
	runs := flag.Int("runs", 5, "runs per tool and stack (alternating)")
	out := flag.String("out", "", "write the JSON results here")
	infractl := flag.String("infractl", "bin/infractl", "infractl binary")
	dockerConfig := flag.String("compose-config", ".tools/docker", "DOCKER_CONFIG holding the docker compose plugin (make tools)")
	only := flag.String("only", "", "comma-separated stacks to run (default: all)")
	skipDemo := flag.Bool("skip-demo", false, "skip the demo stack wall-time comparison")
	skipScale := flag.Bool("skip-scale", false, "skip the model scale comparison")
	skipHooks := flag.Bool("skip-hooks", false, "skip the pre_start hooks stack")
	skipSwarm := flag.Bool("skip-swarm", false, "skip docker stack deploy vs infractl up --orchestrator swarm")
	swarmOnly := flag.Bool("swarm-only", false, "only docker stack deploy vs infractl up --orchestrator swarm")
	baselineOnly := flag.Bool("baseline-only", false, "only measure the engine's own start latency")
	table := flag.String("table", "", "only print the table of an earlier results JSON file")
	writeStacks := flag.String("write-stacks", "", "only write the generated stacks' compose files under this folder (to run a tool on one by hand)")
	flag.Parse()
	if *table != "" {
		var rep report
		b, err := os.ReadFile(*table)
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "initbench:", err)
			os.Exit(1)
		}
		rep.Summary = map[string]summary{}
		printTable(rep)
		return
	}
	if *writeStacks != "" {
		stacks, err := makeStacks(*writeStacks, *only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "initbench:", err)
			os.Exit(1)
		}
		for _, s := range stacks {
			fmt.Println(s.file)
		}
		return
	}
	if *baselineOnly {
		cli, err := connect(context.Background())
		if err == nil {
			var xs, es []float64
			if xs, err = engineStart(context.Background(), cli, 20); err == nil {
				fmt.Printf("engine start latency on a user-defined network: median %.3f s, p95 %.3f s (%d starts)\n", median(xs), percentile(xs, 95), len(xs))
				if es, err = engineEdge(context.Background(), cli, 20); err == nil {
					fmt.Printf("engine edge latency driven directly (die event -> next start event): median %.3f s, p95 %.3f s (%d edges)\n", median(es), percentile(es, 95), len(es))
					return
				}
			}
		}
		fmt.Fprintln(os.Stderr, "initbench:", err)
		os.Exit(1)
	}
	if err := run(*runs, *out, *infractl, *dockerConfig, *only, *skipDemo, *skipScale, *skipHooks, *skipSwarm, *swarmOnly); err != nil {
		fmt.Fprintln(os.Stderr, "initbench:", err)
		os.Exit(1)
	}
}

func run(runs int, out, infractl, dockerConfig, only string, skipDemo, skipScale, skipHooks, skipSwarm, swarmOnly bool) error {
	ctx := context.Background()
	cli, err := connect(ctx)
	if err != nil {
		return err
	}
	ver, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return err
	}
	infractl, _ = filepath.Abs(infractl)
	dockerConfig, _ = filepath.Abs(dockerConfig)
	rep := report{Date: time.Now().UTC().Format(time.RFC3339), Engine: ver.Version, APIVersion: ver.APIVersion, CPUs: runtime.NumCPU(), RunsPerStack: runs, Summary: map[string]summary{}}

	tools := []tool{
		{"infractl", func(ctx context.Context, file, p, trace string) (time.Duration, int64, error) {
			return timed(ctx, nil, infractl, "up", "-f", file, "-p", p, "--format", "json", "--trace", trace)
		}},
		{"infractl-noprobe", func(ctx context.Context, file, p, trace string) (time.Duration, int64, error) {
			return timed(ctx, nil, infractl, "up", "-f", file, "-p", p, "--probe-interval", "0", "--format", "json", "--trace", trace)
		}},
		{"compose", func(ctx context.Context, file, p, _ string) (time.Duration, int64, error) {
			return timed(ctx, []string{"DOCKER_CONFIG=" + dockerConfig}, "docker", "compose", "-f", file, "-p", p, "up", "-d", "--wait")
		}},
	}
	down := func(file, p string) {
		_, _, _ = timed(ctx, nil, infractl, "down", "-v", "-f", file, "-p", p)
	}

	if swarmOnly {
		dir, err := os.MkdirTemp("", "initbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if rep.Swarm, err = swarmBench(ctx, cli, dir, runs, infractl); err != nil {
			return err
		}
		printSwarm(rep.Swarm)
		if out != "" {
			return writeJSON(out, rep)
		}
		return nil
	}
	rep.EngineStartSeconds, err = engineStart(ctx, cli, 10)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "engine start latency (ContainerStart call -> start event), median %.3f s\n", median(rep.EngineStartSeconds))

	dir, err := os.MkdirTemp("", "initbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stacks, err := makeStacks(dir, only)
	if err != nil {
		return err
	}
	for _, s := range stacks {
		sr := stackResult{Stack: s.name}
		if sr.EngineStartSeconds, err = engineStart(ctx, cli, 8); err != nil {
			return err
		}
		// Without probes infractl waits for Docker's healthcheck interval
		// like compose; that matters only where a backend's readiness is on
		// the critical path of a short phase, so it runs on two stacks.
		stackTools := []tool{tools[0], tools[2]}
		if s.name == "chain-1" || s.name == "seed" {
			stackTools = tools
		}
		for i := 0; i < runs; i++ {
			order := stackTools
			if i%2 == 1 { // alternate A/B
				order = slices.Clone(stackTools)
				slices.Reverse(order)
			}
			for _, t := range order {
				p := "bench-" + strings.ReplaceAll(s.name, "_", "-")
				down(s.file, p)
				r, err := measure(ctx, cli, t, s, p)
				down(s.file, p)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", t.name, s.name, err)
				}
				r.Run = i + 1
				sr.Runs = append(sr.Runs, r)
				fmt.Fprintf(os.Stderr, "%-12s %-17s run %d: phase %6.2f s  floor %6.2f s  wall %6.2f s\n", s.name, t.name, i+1, r.PhaseSeconds, r.FloorSeconds, r.WallSeconds)
			}
		}
		rep.Stacks = append(rep.Stacks, sr)
		if out != "" {
			// Written after every stack, so a long run that is stopped
			// keeps what it measured.
			if err := writeJSON(out, rep); err != nil {
				return err
			}
		}
	}
	if !skipDemo {
		demo, _ := filepath.Abs("testdata/compose/demo/compose.yaml")
		env, _ := filepath.Abs("testdata/compose/demo/.env.example")
		for i := 0; i < 3; i++ {
			for _, t := range []tool{tools[0], tools[2]} {
				p := "bench-demo"
				_, _, _ = timed(ctx, nil, infractl, "down", "-v", "-f", demo, "--env-file", env, "-p", p)
				var wall time.Duration
				var rss int64
				if t.name == "compose" {
					wall, rss, err = timed(ctx, []string{"DOCKER_CONFIG=" + dockerConfig}, "docker", "compose", "-f", demo, "--env-file", env, "-p", p, "up", "-d")
					if err == nil {
						// compose up -d returns before the inits finish (and
						// --wait fails on inits nothing waits on, compose
						// #10596): the phase ends when the last init exits.
						wall, err = waitInits(ctx, cli, p, wall)
					}
				} else {
					wall, rss, err = timed(ctx, nil, infractl, "up", "-f", demo, "--env-file", env, "-p", p)
				}
				_, _, _ = timed(ctx, nil, infractl, "down", "-v", "-f", demo, "--env-file", env, "-p", p)
				if err != nil {
					return fmt.Errorf("demo %s: %w", t.name, err)
				}
				rep.Demo = append(rep.Demo, runResult{Tool: t.name, Run: i + 1, WallSeconds: wall.Seconds(), MaxRSSKiB: rss})
				fmt.Fprintf(os.Stderr, "demo %-9s run %d: wall %6.2f s, max RSS %d KiB\n", t.name, i+1, wall.Seconds(), rss)
			}
		}
	}
	if !skipHooks {
		if rep.Hooks, err = hooks(ctx, cli, dir, runs, []tool{tools[0], tools[2]}, down); err != nil {
			return err
		}
	}
	if !skipScale {
		if rep.Scale, err = scale(ctx, dir, infractl, dockerConfig); err != nil {
			return err
		}
	}
	if !skipSwarm {
		if rep.Swarm, err = swarmBench(ctx, cli, dir, runs, infractl); err != nil {
			return err
		}
	}
	printTable(rep)
	if out != "" {
		if err := writeJSON(out, rep); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "results: %s\n", out)
	}
	return nil
}

// makeStacks writes the generated stacks under dir (only the named ones
// when only is not empty).
func makeStacks(dir, only string) ([]stack, error) {
	var stacks []stack
	for _, mk := range []func() (stack, error){
		func() (stack, error) { return chain(dir, 1) },
		func() (stack, error) { return chain(dir, 4) },
		func() (stack, error) { return chain(dir, 16) },
		func() (stack, error) { return fan(dir, 8) },
		func() (stack, error) { return fan(dir, 32) },
		func() (stack, error) { return fan(dir, 64) },
		func() (stack, error) { return seed(dir) },
	} {
		s, err := mk()
		if err != nil {
			return nil, err
		}
		if only == "" || strings.Contains(","+only+",", ","+s.name+",") {
			stacks = append(stacks, s)
		}
	}
	return stacks, nil
}

func writeJSON(out string, rep report) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	return os.WriteFile(out, b, 0o644)
}

// timed runs a command and returns its wall time and peak RSS.
func timed(ctx context.Context, env []string, name string, args ...string) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
	}
	if err != nil {
		return wall, rss, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, lastLines(out.String(), 15))
	}
	return wall, rss, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// measure runs one tool on one stack while recording the engine's events.
func measure(ctx context.Context, cli *client.Client, t tool, s stack, p string) (runResult, error) {
	f := client.Filters{}
	f.Add("type", "container")
	f.Add("label", labelProject+"="+p)
	ectx, cancel := context.WithCancel(ctx)
	res := cli.Events(ectx, client.EventsListOptions{Filters: f})
	var mu sync.Mutex
	var evs []event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case m := <-res.Messages:
				a := string(m.Action)
				if a == "start" || a == "die" || strings.HasPrefix(a, "health_status") {
					mu.Lock()
					evs = append(evs, event{m.Actor.Attributes[labelService], a, time.Unix(0, m.TimeNano)})
					mu.Unlock()
				}
			case <-res.Err:
				return
			case <-ectx.Done():
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // the subscription is live
	trace := filepath.Join(os.TempDir(), "initbench-trace-"+p+".jsonl")
	_ = os.Remove(trace)
	defer os.Remove(trace)
	wall, rss, err := t.up(ctx, s.file, p, trace)
	time.Sleep(700 * time.Millisecond) // late events
	cancel()
	<-done
	if err != nil {
		return runResult{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	r, err := analyse(t.name, s, evs, wall, rss)
	if err != nil {
		return r, err
	}
	if b, err := os.ReadFile(trace); err == nil {
		splitEdges(&r, s, evs, b)
	}
	return r, nil
}

// dispatch is one line of infractl's --trace (scheduler.Dispatch).
type dispatch struct {
	Service string `json:"service"`
	Trigger struct {
		Service    string    `json:"service"`
		Action     string    `json:"action"`
		EngineTime time.Time `json:"engineTime"`
		Received   time.Time `json:"received"`
	} `json:"trigger"`
	Called time.Time `json:"called"`
}

// splitEdges splits each of infractl's edges into the engine's time and
// infractl's own from its dispatch trace: an edge triggered by an engine
// event (a die, a health_status) is event -> received -> ContainerStart
// called -> start event.
func splitEdges(r *runResult, s stack, evs []event, trace []byte) {
	starts := map[string]time.Time{}
	for _, e := range evs {
		if e.action == "start" && starts[e.service].IsZero() {
			starts[e.service] = e.t
		}
	}
	dependent := map[string]bool{s.app: true}
	for _, n := range s.inits {
		dependent[n] = true
	}
	for _, line := range strings.Split(string(trace), "\n") {
		var d dispatch
		if json.Unmarshal([]byte(line), &d) != nil || !dependent[d.Service] {
			continue
		}
		if st := starts[d.Service]; !st.IsZero() {
			r.EngineStarts = append(r.EngineStarts, st.Sub(d.Called).Seconds())
		}
		r.Decisions = append(r.Decisions, d.Called.Sub(d.Trigger.Received).Seconds())
		if !d.Trigger.EngineTime.IsZero() {
			r.Deliveries = append(r.Deliveries, d.Trigger.Received.Sub(d.Trigger.EngineTime).Seconds())
			r.Overheads = append(r.Overheads, d.Called.Sub(d.Trigger.EngineTime).Seconds())
		}
	}
}

func analyse(tool string, s stack, evs []event, wall time.Duration, rss int64) (runResult, error) {
	first := func(svc, action string) time.Time {
		for _, e := range evs {
			if e.service == svc && strings.HasPrefix(e.action, action) {
				return e.t
			}
		}
		return time.Time{}
	}
	ready := map[string]time.Time{} // what a dependent waits for
	var healthy time.Time
	for _, b := range s.backends {
		h := first(b, "health_status: healthy")
		if h.IsZero() {
			h = first(b, "health_status")
		}
		if h.IsZero() {
			return runResult{}, fmt.Errorf("no health event for %s", b)
		}
		ready[b] = h
		if h.After(healthy) {
			healthy = h
		}
	}
	for _, n := range s.inits {
		ready[n] = first(n, "die")
	}
	appStart := first(s.app, "start")
	if appStart.IsZero() {
		return runResult{}, fmt.Errorf("app never started")
	}
	r := runResult{Tool: tool, PhaseSeconds: appStart.Sub(healthy).Seconds(), WallSeconds: wall.Seconds(), MaxRSSKiB: rss}
	// Per edge: from the event that satisfied the last dependency to the
	// dependent's start.
	for _, n := range append(append([]string{}, s.inits...), s.app) {
		var sat time.Time
		for _, d := range s.deps[n] {
			if ready[d].After(sat) {
				sat = ready[d]
			}
		}
		if st := first(n, "start"); !st.IsZero() && !sat.IsZero() {
			r.EdgeLatencies = append(r.EdgeLatencies, st.Sub(sat).Seconds())
		}
	}
	// Floor: along the longest chain of inits, each container's own
	// start-to-exit time.
	own := map[string]float64{}
	for _, n := range s.inits {
		own[n] = first(n, "die").Sub(first(n, "start")).Seconds()
	}
	var depth func(n string) float64
	depth = func(n string) float64 {
		best := 0.0
		for _, d := range s.deps[n] {
			if _, isInit := own[d]; isInit {
				best = max(best, depth(d))
			}
		}
		return best + own[n]
	}
	var hops func(n string) int
	hops = func(n string) int {
		best := 0
		for _, d := range s.deps[n] {
			if _, isInit := own[d]; isInit {
				best = max(best, hops(d))
			}
		}
		return best + 1
	}
	for _, n := range s.inits {
		r.FloorSeconds = max(r.FloorSeconds, depth(n))
		r.PathStarts = max(r.PathStarts, hops(n)+1) // the inits and the app
	}
	return r, nil
}

// engineStart measures the engine's own start cost: a created container on
// a user-defined bridge network (as compose projects use), started through
// the API, from the call to its start event.
func engineStart(ctx context.Context, cli *client.Client, n int) ([]float64, error) {
	const netName = "infractl-bench-baseline"
	_, _ = cli.NetworkRemove(ctx, netName, client.NetworkRemoveOptions{})
	if _, err := cli.NetworkCreate(ctx, netName, client.NetworkCreateOptions{Driver: "bridge", Labels: map[string]string{"infractl.bench": "engine-start"}}); err != nil {
		return nil, err
	}
	defer func() { _, _ = cli.NetworkRemove(context.WithoutCancel(ctx), netName, client.NetworkRemoveOptions{}) }()
	var out []float64
	for i := 0; i < n; i++ {
		c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: "infractl/toolbox:latest", Cmd: []string{"true"}, Labels: map[string]string{"infractl.bench": "engine-start"}},
			HostConfig: &container.HostConfig{NetworkMode: netName},
		})
		if err != nil {
			return nil, err
		}
		f := client.Filters{}
		f.Add("container", c.ID)
		f.Add("event", "start")
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		evs := cli.Events(ectx, client.EventsListOptions{Filters: f})
		time.Sleep(50 * time.Millisecond)
		t0 := time.Now()
		if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
			cancel()
			return nil, err
		}
		select {
		case m := <-evs.Messages:
			out = append(out, time.Unix(0, m.TimeNano).Sub(t0).Seconds())
		case <-ectx.Done():
		}
		cancel()
		_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
	return out, nil
}

// waitInits waits until every container of the project with "init" in its
// service name (or minio-create-buckets) has exited.
func waitInits(ctx context.Context, cli *client.Client, p string, sofar time.Duration) (time.Duration, error) {
	start := time.Now().Add(-sofar)
	for {
		f := client.Filters{}
		f.Add("label", labelProject+"="+p)
		res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			return 0, err
		}
		cs := res.Items
		pending := 0
		for _, c := range cs {
			svc := c.Labels[labelService]
			if (strings.Contains(svc, "init") || svc == "minio-create-buckets") && c.State != container.StateExited {
				pending++
			}
		}
		if pending == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > 10*time.Minute {
			return 0, fmt.Errorf("inits still running after 10 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type scaleResult struct {
	Services  int     `json:"services"`
	Command   string  `json:"command"`
	Seconds   float64 `json:"seconds"`
	MaxRSSKiB int64   `json:"maxRssKiB"`
}

func scale(ctx context.Context, dir, infractl, dockerConfig string) ([]scaleResult, error) {
	var out []scaleResult
	for _, n := range []int{50, 500, 2000} {
		f, err := scaleProject(dir, n)
		if err != nil {
			return nil, err
		}
		for _, c := range []struct {
			name string
			env  []string
			argv []string
		}{
			{"infractl plan", nil, []string{infractl, "plan", "-f", f}},
			{"infractl lint", nil, []string{infractl, "lint", "--fail-on", "none", "-f", f}},
			{"docker compose config -q", []string{"DOCKER_CONFIG=" + dockerConfig}, []string{"docker", "compose", "-f", f, "config", "-q"}},
		} {
			var best time.Duration
			var rss int64
			for i := 0; i < 3; i++ {
				d, r, err := timed(ctx, c.env, c.argv[0], c.argv[1:]...)
				if err != nil {
					return nil, err
				}
				if best == 0 || d < best {
					best = d
				}
				rss = max(rss, r)
			}
			out = append(out, scaleResult{Services: n, Command: c.name, Seconds: best.Seconds(), MaxRSSKiB: rss})
			fmt.Fprintf(os.Stderr, "scale %5d services: %-26s %7.3f s  %7d KiB\n", n, c.name, best.Seconds(), rss)
		}
	}
	return out, nil
}

func median(xs []float64) float64 { return percentile(xs, 50) }

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	i := int(float64(len(s)-1)*p/100 + 0.5)
	return s[i]
}

func printTable(rep report) {
	fmt.Printf("engine %s (API %s), %d CPUs, %d runs per tool and stack; isolated engine start latency median %.3f s\n\n", rep.Engine, rep.APIVersion, rep.CPUs, rep.RunsPerStack, median(rep.EngineStartSeconds))
	fmt.Printf("%-10s %-17s %22s %7s %7s %9s %7s %16s %13s %18s\n", "stack", "tool", "phase median (min-max)", "floor", "/floor", "floor+eng", "/f+eng", "edge p50 / p95", "engine start", "overhead p50 / p95")
	for _, s := range rep.Stacks {
		// The engine's own start latency in this stack's runs, measured
		// by infractl's trace (ContainerStart call -> start event); the
		// separate baseline before the stack when there is no trace.
		var inRun []float64
		for _, r := range s.Runs {
			inRun = append(inRun, r.EngineStarts...)
		}
		es := median(inRun)
		if len(inRun) == 0 {
			es = median(s.EngineStartSeconds)
		}
		for _, t := range []string{"infractl", "infractl-noprobe", "compose"} {
			var phase, floor, edges, over []float64
			starts := 0
			for _, r := range s.Runs {
				if r.Tool == t {
					starts = r.PathStarts
					phase = append(phase, r.PhaseSeconds)
					floor = append(floor, r.FloorSeconds)
					edges = append(edges, r.EdgeLatencies...)
					over = append(over, r.Overheads...)
				}
			}
			if len(phase) == 0 {
				continue
			}
			pm, fm := median(phase), median(floor)
			rep.Summary[s.Stack+"/"+t] = summary{Median: pm, Min: percentile(phase, 0), Max: percentile(phase, 100)}
			ratio := "-"
			if fm > 0 {
				ratio = strconv.FormatFloat(pm/fm, 'f', 2, 64)
			}
			feng := fm + float64(starts)*es
			overhead := fmt.Sprintf("%6.3f / %6.3f", median(over), percentile(over, 95))
			if len(over) == 0 {
				// No trace: the edge minus the engine's start latency.
				overhead = fmt.Sprintf("%6.3f (est.)", median(edges)-es)
			}
			fmt.Printf("%-10s %-17s %8.2f (%5.2f-%5.2f) %7.2f %7s %9.2f %7.2f %7.3f / %6.3f %11.3f s %18s\n", s.Stack, t, pm, percentile(phase, 0), percentile(phase, 100), fm, ratio,
				feng, pm/feng, median(edges), percentile(edges, 95), es, overhead)
		}
	}
	fmt.Printf("\nwhole up per stack (median wall s, before and after the phase, peak RSS MiB):\n")
	fmt.Printf("%-10s %-17s %8s %14s %9s\n", "stack", "tool", "wall", "wall - phase", "peak RSS")
	for _, s := range rep.Stacks {
		for _, t := range []string{"infractl", "infractl-noprobe", "compose"} {
			var wall, rest []float64
			var rss int64
			for _, r := range s.Runs {
				if r.Tool == t {
					wall = append(wall, r.WallSeconds)
					rest = append(rest, r.WallSeconds-r.PhaseSeconds)
					rss = max(rss, r.MaxRSSKiB)
				}
			}
			if len(wall) > 0 {
				fmt.Printf("%-10s %-17s %8.2f %14.2f %9.1f\n", s.Stack, t, median(wall), median(rest), float64(rss)/1024)
			}
		}
	}
	fmt.Printf("\ninfractl's edges split (from --trace; seconds, p50 / p95 / max):\n")
	fmt.Printf("%-10s %-17s %6s %26s %26s %26s\n", "stack", "tool", "edges", "event delivery (engine)", "decision (infractl)", "start call -> start event")
	for _, s := range rep.Stacks {
		for _, t := range []string{"infractl", "infractl-noprobe"} {
			var del, dec, eng []float64
			for _, r := range s.Runs {
				if r.Tool == t {
					del = append(del, r.Deliveries...)
					dec = append(dec, r.Decisions...)
					eng = append(eng, r.EngineStarts...)
				}
			}
			if len(dec) == 0 {
				continue
			}
			f := func(xs []float64) string {
				return fmt.Sprintf("%.4f / %.4f / %.4f", median(xs), percentile(xs, 95), percentile(xs, 100))
			}
			fmt.Printf("%-10s %-17s %6d %26s %26s %26s\n", s.Stack, t, len(dec), f(del), f(dec), f(eng))
		}
	}
	if len(rep.Demo) > 0 {
		fmt.Printf("\ndemo stack, whole up (3 runs):\n")
		for _, t := range []string{"infractl", "compose"} {
			var wall []float64
			var rss int64
			for _, r := range rep.Demo {
				if r.Tool == t {
					wall = append(wall, r.WallSeconds)
					rss = max(rss, r.MaxRSSKiB)
				}
			}
			fmt.Printf("  %-9s wall median %6.2f s (min %.2f, max %.2f), peak RSS %d KiB\n", t, median(wall), percentile(wall, 0), percentile(wall, 100), rss)
		}
	}
	if len(rep.Hooks) > 0 {
		fmt.Printf("\nhooks stack (a backend, a service with 3 pre_start hooks): the service's create -> start, from the engine's events:\n")
		med := map[string]float64{}
		for _, t := range []string{"infractl", "compose"} {
			var xs []float64
			for _, r := range rep.Hooks {
				if r.Tool == t {
					xs = append(xs, r.CreateToRun)
				}
			}
			if len(xs) == 0 {
				continue
			}
			med[t] = median(xs)
			fmt.Printf("  %-9s median %6.3f s (min %.3f, max %.3f, %d runs)\n", t, median(xs), percentile(xs, 0), percentile(xs, 100), len(xs))
		}
		if med["compose"] > 0 {
			fmt.Printf("  ratio infractl/compose: %.2fx\n", med["infractl"]/med["compose"])
		}
	}
	fmt.Printf("\nscale (best of 3):\n")
	for _, s := range rep.Scale {
		fmt.Printf("  %5d services  %-26s %7.3f s  %8d KiB\n", s.Services, s.Command, s.Seconds, s.MaxRSSKiB)
	}
	printSwarm(rep.Swarm)
}

// engineEdge measures what the engine itself needs for one edge: container
// A runs `true`; on A's die event, B (created beforehand) is started at once
// through the API; the latency is B's start event minus A's die event.
func engineEdge(ctx context.Context, cli *client.Client, n int) ([]float64, error) {
	const netName = "infractl-bench-edge"
	_, _ = cli.NetworkRemove(ctx, netName, client.NetworkRemoveOptions{})
	if _, err := cli.NetworkCreate(ctx, netName, client.NetworkCreateOptions{Driver: "bridge"}); err != nil {
		return nil, err
	}
	defer func() { _, _ = cli.NetworkRemove(context.WithoutCancel(ctx), netName, client.NetworkRemoveOptions{}) }()
	mk := func() (string, error) {
		c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: "infractl/toolbox:latest", Cmd: []string{"true"}, Labels: map[string]string{"infractl.bench": "engine-edge"}},
			HostConfig: &container.HostConfig{NetworkMode: netName},
		})
		return c.ID, err
	}
	var out []float64
	for i := 0; i < n; i++ {
		a, err := mk()
		if err != nil {
			return nil, err
		}
		b, err := mk()
		if err != nil {
			return nil, err
		}
		f := client.Filters{}
		f.Add("label", "infractl.bench=engine-edge")
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		evs := cli.Events(ectx, client.EventsListOptions{Filters: f})
		time.Sleep(50 * time.Millisecond)
		if _, err := cli.ContainerStart(ctx, a, client.ContainerStartOptions{}); err != nil {
			cancel()
			return nil, err
		}
		var died time.Time
	loop:
		for {
			select {
			case m := <-evs.Messages:
				switch {
				case m.Actor.ID == a && m.Action == "die":
					died = time.Unix(0, m.TimeNano)
					if _, err := cli.ContainerStart(ctx, b, client.ContainerStartOptions{}); err != nil {
						cancel()
						return nil, err
					}
				case m.Actor.ID == b && m.Action == "start":
					out = append(out, time.Unix(0, m.TimeNano).Sub(died).Seconds())
					break loop
				}
			case <-ectx.Done():
				break loop
			}
		}
		cancel()
		for _, id := range []string{a, b} {
			_, _ = cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
		}
	}
	return out, nil
}

// connect opens the bench's own engine client. The bench is an independent
// observer of both tools (like the e2e tests): it reads the engine's events
// and lists with its own client, not through infractl's adapter, which is
// under measurement.
func connect(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, fmt.Errorf("cannot reach the Docker engine: %w", err)
	}
	return cli, nil
}
