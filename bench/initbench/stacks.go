package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// stack is a generated benchmark project.
type stack struct {
	name string
	file string
	// inits and backends by name; edges tell the critical path.
	backends []string
	inits    []string
	app      string
	deps     map[string][]string // service -> what it waits on
}

const backendDelay = "1"

func backend(b *strings.Builder, name string) {
	fmt.Fprintf(b, "  %s:\n    image: infractl/toolbox:latest\n", name)
	fmt.Fprintf(b, "    command: [\"sh\", \"-c\", \"sleep %s; touch /tmp/ready; exec sleep 3600\"]\n    stop_signal: SIGKILL\n", backendDelay)
	fmt.Fprintf(b, "    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ready\"]\n      interval: 1s\n      timeout: 2s\n      retries: 60\n")
}

func initSvc(b *strings.Builder, name string, deps map[string]string) {
	fmt.Fprintf(b, "  %s:\n    image: infractl/toolbox:latest\n    restart: \"no\"\n    command: [\"sh\", \"-c\", \"echo %s done\"]\n    depends_on:\n", name, name)
	for _, d := range slices.Sorted(maps.Keys(deps)) {
		fmt.Fprintf(b, "      %s: {condition: %s}\n", d, deps[d])
	}
}

func appSvc(b *strings.Builder, name string, deps []string) {
	fmt.Fprintf(b, "  %s:\n    image: infractl/toolbox:latest\n    command: [\"sleep\", \"3600\"]\n    stop_signal: SIGKILL\n    depends_on:\n", name)
	for _, d := range deps {
		fmt.Fprintf(b, "      %s: {condition: service_completed_successfully}\n", d)
	}
}

func write(dir, name, body string) (string, error) {
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	f := filepath.Join(d, "compose.yaml")
	return f, os.WriteFile(f, []byte(body), 0o644)
}

// chain: a backend, depth inits in a chain, an app.
func chain(dir string, depth int) (stack, error) {
	s := stack{name: fmt.Sprintf("chain-%d", depth), backends: []string{"backend"}, app: "app", deps: map[string][]string{}}
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-%s\nservices:\n", s.name)
	backend(&b, "backend")
	prev := ""
	for i := 1; i <= depth; i++ {
		n := fmt.Sprintf("init-%02d", i)
		deps := map[string]string{"backend": "service_healthy"}
		s.deps[n] = []string{"backend"}
		if prev != "" {
			deps = map[string]string{prev: "service_completed_successfully"}
			s.deps[n] = []string{prev}
		}
		initSvc(&b, n, deps)
		s.inits = append(s.inits, n)
		prev = n
	}
	appSvc(&b, "app", []string{prev})
	s.deps["app"] = []string{prev}
	f, err := write(dir, s.name, b.String())
	s.file = f
	return s, err
}

// fan: a backend, width inits in parallel, an app waiting on all of them.
func fan(dir string, width int) (stack, error) {
	s := stack{name: fmt.Sprintf("fan-%d", width), backends: []string{"backend"}, app: "app", deps: map[string][]string{}}
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-%s\nservices:\n", s.name)
	backend(&b, "backend")
	for i := 1; i <= width; i++ {
		n := fmt.Sprintf("init-%02d", i)
		initSvc(&b, n, map[string]string{"backend": "service_healthy"})
		s.inits = append(s.inits, n)
		s.deps[n] = []string{"backend"}
	}
	appSvc(&b, "app", s.inits)
	s.deps["app"] = s.inits
	f, err := write(dir, s.name, b.String())
	s.file = f
	return s, err
}

// seed: the seed stack's shape: 6 backends (minio, mng-pg, pg-cluster,
// kafka, valkey, opensearch), one init each, k-init after kafka-init, an
// app waiting on every init.
func seed(dir string) (stack, error) {
	s := stack{name: "seed-shaped", app: "app", deps: map[string][]string{}}
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-%s\nservices:\n", s.name)
	pairs := [][2]string{{"minio", "minio-create-buckets"}, {"mng-pg", "mng-pg-init"}, {"pg-cluster", "pg-cluster-init"},
		{"kafka-1", "kafka-init"}, {"valkey-1", "valkey-cluster-init"}, {"opensearch", "os-init"}}
	for _, p := range pairs {
		backend(&b, p[0])
		s.backends = append(s.backends, p[0])
	}
	for _, p := range pairs {
		initSvc(&b, p[1], map[string]string{p[0]: "service_healthy"})
		s.inits = append(s.inits, p[1])
		s.deps[p[1]] = []string{p[0]}
	}
	initSvc(&b, "k-init", map[string]string{"kafka-1": "service_healthy", "kafka-init": "service_completed_successfully"})
	s.inits = append(s.inits, "k-init")
	s.deps["k-init"] = []string{"kafka-1", "kafka-init"}
	appSvc(&b, "app", s.inits)
	s.deps["app"] = s.inits
	f, err := write(dir, s.name, b.String())
	s.file = f
	return s, err
}

// scaleProject writes a root-only project of n services (n/2 includes).
func scaleProject(dir string, n int) (string, error) {
	d := filepath.Join(dir, fmt.Sprintf("scale-%d", n))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	var root strings.Builder
	fmt.Fprintf(&root, "name: scale-%d\ninclude:\n", n)
	for c := 0; c < n/2; c++ {
		name := fmt.Sprintf("c%04d", c)
		var b strings.Builder
		fmt.Fprintf(&b, "services:\n")
		backend(&b, name+"-db")
		initSvc(&b, name+"-init", map[string]string{name + "-db": "service_healthy"})
		if err := os.WriteFile(filepath.Join(d, name+".yml"), []byte(b.String()), 0o644); err != nil {
			return "", err
		}
		fmt.Fprintf(&root, "  - %s.yml\n", name)
	}
	f := filepath.Join(d, "compose.yaml")
	return f, os.WriteFile(f, []byte(root.String()), 0o644)
}

// compose's own labels, the public contract the bench reads both tools by.
const (
	labelProject = "com.docker.compose.project"
	labelService = "com.docker.compose.service"
)
