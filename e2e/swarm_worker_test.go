//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// The second node: a dockerd of its own (data-root, exec-root, socket) in a
// network namespace the test makes, joined to the Swarm as a worker over a
// veth pair. The namespace is entered with nsenter --net only: `ip netns
// exec` would remount /sys and hide the cgroup mounts dockerd needs.
const (
	workerNetns = "infractl-e2e-w"
	workerHost  = "ie2e-host" // the veth end on this machine
	workerPeer  = "ie2e-node" // the end in the namespace
	managerAddr = "10.231.77.1"
	workerAddr  = "10.231.77.2"
)

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// startWorker makes the namespace and the second dockerd and returns a
// client of it; everything goes when the test ends.
func startWorker(t *testing.T) (*client.Client, string) {
	t.Helper()
	_ = exec.Command("ip", "netns", "del", workerNetns).Run() // a run killed earlier
	_ = exec.Command("ip", "link", "del", workerHost).Run()
	sh(t, "ip", "netns", "add", workerNetns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", workerNetns).Run()
		_ = exec.Command("ip", "link", "del", workerHost).Run()
	})
	sh(t, "ip", "link", "add", workerHost, "type", "veth", "peer", "name", workerPeer)
	sh(t, "ip", "link", "set", workerPeer, "netns", workerNetns)
	sh(t, "ip", "addr", "add", managerAddr+"/24", "dev", workerHost)
	sh(t, "ip", "link", "set", workerHost, "up")
	in := func(args ...string) { sh(t, "ip", append([]string{"-n", workerNetns}, args...)...) }
	in("addr", "add", workerAddr+"/24", "dev", workerPeer)
	in("link", "set", workerPeer, "up")
	in("link", "set", "lo", "up")

	dir, err := os.MkdirTemp("", "infractl-e2e-worker-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "docker.sock")
	d := exec.Command("nsenter", "--net=/var/run/netns/"+workerNetns, "dockerd", "--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"), "--pidfile", filepath.Join(dir, "docker.pid"),
		"-H", "unix://"+sock)
	// No registry: a task uses the node's own image instead of trying to
	// pull it first (and waiting for a registry that never answers).
	d.Env = append(os.Environ(), "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1")
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d.Stdout, d.Stderr = logf, logf
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = d.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = d.Process.Kill()
			<-done
		}
		logf.Close()
		_ = os.RemoveAll(dir)
	})
	w, err := client.New(client.WithHost("unix://"+sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := w.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
			t.Fatalf("the second dockerd did not answer: %v\n%s", err, lastLinesOf(string(b), 20))
		}
	}
	return w, sock
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestE2ESwarmWorkerNode: a Swarm of two engines, this one the manager and
// a second dockerd in its own network namespace a worker (the images it
// needs loaded into it, as there is no registry). The backend is placed on
// the manager, the init on the worker; the init finds the backend by name
// over the overlay network, infractl runs it once the backend is healthy,
// and the engine says where it ran.
func TestE2ESwarmWorkerNode(t *testing.T) {
	info, err := docker.Info(t.Context(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Info.Swarm.LocalNodeState == swarm.LocalNodeStateActive {
		t.Fatal("this engine is already in a Swarm: the test makes its own two-node Swarm (docker swarm leave --force first)")
	}
	w, sock := startWorker(t)
	sh(t, "docker", "swarm", "init", "--advertise-addr", managerAddr)
	t.Cleanup(func() { _ = exec.Command("docker", "swarm", "leave", "--force").Run() })
	token := sh(t, "docker", "swarm", "join-token", "-q", "worker")
	sh(t, "docker", "-H", "unix://"+sock, "swarm", "join", "--token", token, "--advertise-addr", workerAddr, managerAddr+":2377")
	t.Cleanup(func() { _ = exec.Command("docker", "-H", "unix://"+sock, "swarm", "leave", "--force").Run() })
	// Images are per node: load the one the init needs into the worker.
	save := exec.Command("docker", "save", "infractl/toolbox:latest")
	load := exec.Command("docker", "-H", "unix://"+sock, "load")
	pipe, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	load.Stdin = pipe
	if err := save.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("docker load into the worker: %v\n%s", err, out)
	}
	if err := save.Wait(); err != nil {
		t.Fatal(err)
	}
	winfo, err := w.Info(t.Context(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	workerID := winfo.Info.Swarm.NodeID

	dir := t.TempDir()
	yaml := `services:
  db:
    image: infractl/toolbox:latest
    command: ["sh", "-c", "sleep 2; exec httpd -f -p 5000"]
    stop_signal: SIGKILL
    healthcheck: {test: ["CMD-SHELL", "nc -w 1 127.0.0.1 5000 </dev/null"], interval: 1s, retries: 60}
    deploy: {placement: {constraints: ["node.role == manager"]}}
  remote-init:
    image: infractl/toolbox:latest
    restart: "no"
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 2 db 5000 </dev/null && { echo reached db by name after $$i tries; exit 0; }; sleep 0.5; done; exit 1"]
    depends_on: {db: {condition: service_healthy}}
    deploy: {placement: {constraints: ["node.role == worker"]}}
`
	// The init tries the name a few times, as real inits do: Swarm spreads
	// a service's DNS record to other nodes by gossip, a moment after the
	// manager reports its task running.
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	const stack = "e2e-swarm-two"
	flags := []string{"--orchestrator", "swarm", "-f", filepath.Join(dir, "compose.yaml"), "-p", stack}
	t.Cleanup(func() { swarmDown(t, stack) })
	r := infra(t, args("up", flags, "--format", "json", "--logs-dir", filepath.Join(dir, "logs"))...)
	if r.code != 0 {
		t.Fatalf("up on two nodes: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	v := verdict(t, r.stdout)
	logb, _ := os.ReadFile(filepath.Join(dir, "logs", "remote-init.log"))
	if s := service(t, v, "remote-init"); s.Outcome != "ok" || !strings.Contains(string(logb), "reached db by name") {
		t.Errorf("remote-init: %s\n%s", s.Outcome, logb)
	}
	svcs, tasks := stackTasks(t, stack)
	for n, ts := range tasks {
		for _, tk := range ts {
			t.Logf("task of %s on node %s: %s (worker %s)", n, tk.NodeID, tk.Status.State, workerID)
		}
	}
	if len(svcs) != 2 {
		t.Errorf("services: %d", len(svcs))
	}
	if workerID == "" {
		t.Fatal("the worker reports no Swarm node ID")
	}
	for name, want := range map[string]string{"remote-init": workerID, "db": info.Info.Swarm.NodeID} {
		ts := tasks[name]
		if len(ts) != 1 || ts[0].NodeID == "" {
			t.Errorf("%s: %d tasks, want one placed on a node", name, len(ts))
			continue
		}
		if name == "remote-init" && ts[0].NodeID != want {
			t.Errorf("remote-init ran on node %s, not the worker %s", ts[0].NodeID, want)
		}
		if name == "db" && ts[0].NodeID == workerID {
			t.Errorf("db ran on the worker, not the manager")
		}
	}
	// The init's container is the worker engine's, not this one's.
	f := client.Filters{}
	f.Add("label", "com.docker.swarm.service.name="+stack+"_remote-init")
	wl, err := w.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(wl.Items) != 1 {
		all, _ := w.ContainerList(t.Context(), client.ContainerListOptions{All: true})
		for _, c := range all.Items {
			t.Logf("worker container %s %s %v", c.Names, c.State, c.Labels)
		}
		t.Errorf("the worker has %d containers of remote-init, want 1", len(wl.Items))
	}
}
