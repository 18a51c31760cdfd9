package dockerapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
	"github.com/infractl/infractl/internal/fileobj"
)

// ComposeVersion is the version written into com.docker.compose.version.
const ComposeVersion = "5.6.0"

// supportedKeys are the service keys infractl turns into a container. A key
// outside this set that would change how the service runs is refused.
var supportedKeys = map[string]bool{
	"image": true, "command": true, "entrypoint": true, "environment": true, "env_file": true,
	"working_dir": true, "user": true, "labels": true, "label_file": true, "hostname": true,
	"container_name": true, "networks": true, "volumes": true, "secrets": true, "configs": true,
	"healthcheck": true, "depends_on": true, "restart": true, "ports": true, "expose": true,
	"extra_hosts": true, "dns": true, "cap_add": true, "cap_drop": true, "privileged": true,
	"read_only": true, "security_opt": true, "sysctls": true, "ulimits": true, "shm_size": true,
	"init": true, "stop_signal": true, "stop_grace_period": true, "logging": true,
	"mem_limit": true, "cpus": true, "deploy": true, "tty": true, "stdin_open": true,
	// Each pre_start hook is checked on its own (unsupportedKeys).
	"pre_start": true,
	// Keys that do not change the container: known and accepted.
	"build": true, "profiles": true, "pull_policy": true, "scale": true, "name": true, "extends": true,
}

// unsupportedKeys lists the keys of sc infractl cannot run faithfully.
func unsupportedKeys(sc types.ServiceConfig) []string {
	raw, err := json.Marshal(sc)
	if err != nil {
		return []string{"<unreadable: " + err.Error() + ">"}
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	var bad []string
	for k, v := range m {
		if supportedKeys[k] || k == "deploy" || isEmpty(v) {
			continue
		}
		bad = append(bad, k)
	}
	if sc.Deploy != nil {
		d := *sc.Deploy
		d.Resources.Limits = nil
		d.Replicas = nil
		// Only keys with a value count: compose-go fills some with empty
		// ones (placement: {} next to replicas).
		var rest map[string]any
		if raw, err := json.Marshal(d); err != nil || json.Unmarshal(raw, &rest) != nil || !deepEmpty(rest) {
			bad = append(bad, "deploy (only deploy.resources.limits and deploy.replicas are supported)")
		}
	}
	for i, h := range sc.PreStart {
		if h.PerReplica {
			bad = append(bad, fmt.Sprintf("pre_start[%d].per_replica (docker compose v5.6.0 does not support it either: remove it or set it to false)", i))
		}
		for _, k := range unsupportedKeys(types.ServiceConfig{ContainerSpec: h.ContainerSpec}) {
			bad = append(bad, fmt.Sprintf("pre_start[%d].%s", i, k))
		}
	}
	sort.Strings(bad)
	return bad
}

// hookConfig is the service configuration a pre_start hook's runner is
// created from: the hook's container specification (compose-go resolved
// what it inherits from the service at load), the service's image unless
// the hook names one.
func hookConfig(p *types.Project, sc types.ServiceConfig, i int) types.ServiceConfig {
	h := types.ServiceConfig{Name: sc.Name, ContainerSpec: sc.PreStart[i].ContainerSpec}
	if h.Image == "" {
		h.Image = ImageName(p.Name, sc)
	}
	return h
}

// buildHookSpec converts the i-th pre_start hook of a service into the
// create options of its runner, named and labelled as docker compose v5.6.0
// does (no config hash, no container number: compose's ps and its
// reconciliation do not take it for the service's container).
func buildHookSpec(p *types.Project, sc types.ServiceConfig, i int, apiVersion string) (*createSpec, error) {
	spec, err := buildSpec(p, hookConfig(p, sc, i), apiVersion)
	if err != nil {
		return nil, err
	}
	spec.name = engine.HookContainerName(p.Name, sc.Name, i)
	spec.opts.Name = spec.name
	spec.hook = &hookRef{service: sc.Name, index: i}
	spec.health, spec.healthTest = false, nil
	cfg := *spec.opts.Config
	cfg.Labels = maps.Clone(cfg.Labels)
	for _, k := range []string{LabelConfigHash, LabelNumber, LabelOneoff, LabelDependsOn} {
		delete(cfg.Labels, k)
	}
	cfg.Labels[LabelHook] = "pre_start"
	cfg.Labels[LabelHookIndex] = strconv.Itoa(i)
	spec.opts.Config = &cfg
	return spec, nil
}

// replica is the spec of the service's k-th container: named and numbered
// as compose does, otherwise the same.
func (s *createSpec) replica(project string, sc types.ServiceConfig, k int) *createSpec {
	r := *s
	r.name = engine.ReplicaContainerName(project, sc, k)
	r.opts.Name = r.name
	cfg := *s.opts.Config
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Labels[LabelNumber] = strconv.Itoa(k)
	r.opts.Config = &cfg
	return &r
}

// hookRef names the service and position of a pre_start hook.
type hookRef struct {
	service string
	index   int
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case float64:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// deepEmpty is isEmpty for a map whose values are all empty, at any depth.
func deepEmpty(v any) bool {
	if m, ok := v.(map[string]any); ok {
		for _, x := range m {
			if !deepEmpty(x) {
				return false
			}
		}
		return true
	}
	return isEmpty(v)
}

// ContainerName and ImageName are compose's conventions (engine's).
var (
	ContainerName = engine.ContainerName
	ImageName     = engine.ImageName
)

// fileCopy is a file to copy into a container before it starts
// (environment- or content-based secrets and configs).
type fileCopy struct {
	Path    string
	Content []byte
	Mode    int64
	// Source is the local file of a file-based secret or config.
	Source string
}

// createSpec is everything needed to create one service's container.
type createSpec struct {
	service string
	name    string
	// hashes are the config hashes of an up-to-date container
	// (ServiceHashes); the first is written.
	hashes []string
	opts   client.ContainerCreateOptions
	copies []fileCopy
	health bool
	stop   time.Duration
	// healthTest is the healthcheck test as exec arguments (probes).
	healthTest    []string
	healthTimeout time.Duration
	// hook is set on a pre_start hook's runner.
	hook *hookRef
	// objectFiles are the file-based secrets and configs, bind-mounted
	// from this machine unless the engine is remote (forRemote).
	objectFiles []fileCopy
}

// forRemote turns the file-based secrets and configs into copies made
// through the API: on a remote engine the local path does not exist.
func (s *createSpec) forRemote() error {
	if len(s.objectFiles) == 0 {
		return nil
	}
	hc := *s.opts.HostConfig
	hc.Mounts = nil
	for _, m := range s.opts.HostConfig.Mounts {
		keep := true
		for _, f := range s.objectFiles {
			if m.Type == mount.TypeBind && m.Target == f.Path && m.Source == f.Source {
				keep = false
			}
		}
		if keep {
			hc.Mounts = append(hc.Mounts, m)
		}
	}
	s.opts.HostConfig = &hc
	s.copies = slices.Clone(s.copies) // a replica's spec shares the array
	for _, f := range s.objectFiles {
		b, err := fileobj.Read(f.Source)
		if err != nil {
			return fmt.Errorf("service %q: read %s to copy it to the remote engine: %w", s.service, f.Source, err)
		}
		s.copies = append(s.copies, fileCopy{Path: f.Path, Content: b, Mode: f.Mode})
	}
	s.objectFiles = nil
	return nil
}

// buildSpec converts a compose service into container create options.
func buildSpec(p *types.Project, sc types.ServiceConfig, apiVersion string) (*createSpec, error) {
	hashes, err := engine.ServiceHashes(sc)
	if err != nil {
		return nil, err
	}
	hash := hashes[0]
	labels := map[string]string{}
	for k, v := range sc.Labels {
		labels[k] = v
	}
	var deps []string
	for name, d := range sc.DependsOn {
		deps = append(deps, fmt.Sprintf("%s:%s:%t", name, d.Condition, d.Restart))
	}
	sort.Strings(deps)
	for k, v := range map[string]string{
		LabelProject: p.Name, LabelService: sc.Name, LabelNumber: "1", LabelOneoff: "False",
		LabelConfigHash: hash, LabelWorkingDir: p.WorkingDir, LabelConfigFiles: strings.Join(p.ComposeFiles, ","),
		LabelDependsOn: strings.Join(deps, ","), LabelVersion: ComposeVersion, LabelManagedBy: "infractl",
	} {
		labels[k] = v
	}

	var env []string
	for k, v := range sc.Environment {
		if v == nil {
			continue
		}
		env = append(env, k+"="+*v)
	}
	sort.Strings(env)

	cfg := &container.Config{
		Image:      ImageName(p.Name, sc),
		Cmd:        sc.Command,
		Entrypoint: sc.Entrypoint,
		Env:        env,
		WorkingDir: sc.WorkingDir,
		User:       sc.User,
		Labels:     labels,
		Hostname:   sc.Hostname,
		Tty:        sc.Tty,
		OpenStdin:  sc.StdinOpen,
		StopSignal: sc.StopSignal,
	}
	spec := &createSpec{service: sc.Name, name: ContainerName(p.Name, sc), hashes: hashes, stop: 10 * time.Second}
	if sc.StopGracePeriod != nil {
		spec.stop = time.Duration(*sc.StopGracePeriod)
		secs := int(spec.stop.Seconds())
		cfg.StopTimeout = &secs
	}
	if hc := sc.HealthCheck; hc != nil {
		h, test, timeout := healthConfig(hc, apiVersion)
		cfg.Healthcheck = h
		spec.health, spec.healthTest, spec.healthTimeout = test != nil, test, timeout
	}

	hostCfg := &container.HostConfig{
		RestartPolicy:  restartPolicy(compose.Restart(sc)),
		CapAdd:         sc.CapAdd,
		CapDrop:        sc.CapDrop,
		Privileged:     sc.Privileged,
		ReadonlyRootfs: sc.ReadOnly,
		SecurityOpt:    sc.SecurityOpt,
		Sysctls:        map[string]string(sc.Sysctls),
		ShmSize:        int64(sc.ShmSize),
		Init:           sc.Init,
		Tmpfs:          map[string]string{},
	}
	hostCfg.ExtraHosts = append(hostCfg.ExtraHosts, sc.ExtraHosts.AsList(":")...)
	for _, d := range sc.DNS {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("service %q: dns %q is not an IP address", sc.Name, d)
		}
		hostCfg.DNS = append(hostCfg.DNS, a)
	}
	if sc.Logging != nil {
		hostCfg.LogConfig = container.LogConfig{Type: sc.Logging.Driver, Config: sc.Logging.Options}
	}
	hostCfg.Memory = int64(sc.MemLimit)
	hostCfg.NanoCPUs = int64(sc.CPUS * 1e9)
	if sc.Deploy != nil && sc.Deploy.Resources.Limits != nil {
		l := sc.Deploy.Resources.Limits
		if l.MemoryBytes > 0 {
			hostCfg.Memory = int64(l.MemoryBytes)
		}
		if l.NanoCPUs > 0 {
			hostCfg.NanoCPUs = int64(l.NanoCPUs.Value() * 1e9)
		}
		if l.Pids > 0 {
			pids := l.Pids
			hostCfg.PidsLimit = &pids
		}
	}
	hostCfg.Ulimits = ulimits(sc)

	// Ports and expose.
	cfg.ExposedPorts = network.PortSet{}
	hostCfg.PortBindings = network.PortMap{}
	for _, e := range sc.Expose {
		port, err := network.ParsePort(withProto(e))
		if err != nil {
			return nil, fmt.Errorf("service %q: expose %q: %v", sc.Name, e, err)
		}
		cfg.ExposedPorts[port] = struct{}{}
	}
	for _, pc := range sc.Ports {
		proto := pc.Protocol
		if proto == "" {
			proto = "tcp"
		}
		port, err := network.ParsePort(fmt.Sprintf("%d/%s", pc.Target, proto))
		if err != nil {
			return nil, fmt.Errorf("service %q: port %d: %v", sc.Name, pc.Target, err)
		}
		cfg.ExposedPorts[port] = struct{}{}
		b := network.PortBinding{HostPort: pc.Published}
		if pc.HostIP != "" {
			if b.HostIP, err = netip.ParseAddr(pc.HostIP); err != nil {
				return nil, fmt.Errorf("service %q: host_ip %q: %v", sc.Name, pc.HostIP, err)
			}
		}
		hostCfg.PortBindings[port] = append(hostCfg.PortBindings[port], b)
	}

	// Volumes: binds, named volumes, tmpfs.
	for _, v := range sc.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			m := mount.Mount{Type: mount.TypeBind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Bind != nil && v.Bind.Propagation != "" {
				m.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(v.Bind.Propagation)}
			}
			hostCfg.Mounts = append(hostCfg.Mounts, m)
		case types.VolumeTypeVolume:
			src := v.Source
			if vol, ok := p.Volumes[v.Source]; ok && vol.Name != "" {
				src = vol.Name
			}
			m := mount.Mount{Type: mount.TypeVolume, Source: src, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Volume != nil && v.Volume.NoCopy {
				m.VolumeOptions = &mount.VolumeOptions{NoCopy: true}
			}
			hostCfg.Mounts = append(hostCfg.Mounts, m)
		case types.VolumeTypeTmpfs:
			opt := ""
			if v.Tmpfs != nil && v.Tmpfs.Size > 0 {
				opt = "size=" + strconv.FormatInt(int64(v.Tmpfs.Size), 10)
			}
			hostCfg.Tmpfs[v.Target] = opt
		default:
			return nil, fmt.Errorf("service %q: volume type %q is not supported", sc.Name, v.Type)
		}
	}

	// Secrets and configs: file-based ones are read-only binds, as compose
	// does; environment- and content-based ones are copied in as files.
	for _, s := range sc.Secrets {
		def, ok := p.Secrets[s.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: secret %q is not defined", sc.Name, s.Source)
		}
		target := s.Target
		if target == "" {
			target = s.Source
		}
		if !path.IsAbs(target) {
			target = "/run/secrets/" + target
		}
		if err := mountObject(p, spec, hostCfg, types.FileObjectConfig(def), target, s.Mode, sc.Name, "secret", s.Source); err != nil {
			return nil, err
		}
	}
	for _, c := range sc.Configs {
		def, ok := p.Configs[c.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: config %q is not defined", sc.Name, c.Source)
		}
		target := c.Target
		if target == "" {
			target = "/" + c.Source
		}
		if err := mountObject(p, spec, hostCfg, types.FileObjectConfig(def), target, c.Mode, sc.Name, "config", c.Source); err != nil {
			return nil, err
		}
	}

	// Networks: the first one at create time, the others connected before
	// start (API 1.41 accepts one endpoint on create).
	netCfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	netNames := sortedNetworks(sc)
	if sc.NetworkMode != "" {
		hostCfg.NetworkMode = container.NetworkMode(sc.NetworkMode)
	} else {
		for _, key := range netNames {
			def, ok := p.Networks[key]
			if !ok {
				return nil, fmt.Errorf("service %q: network %q is not defined", sc.Name, key)
			}
			aliases := []string{sc.Name}
			if sn := sc.Networks[key]; sn != nil {
				aliases = append(aliases, sn.Aliases...)
			}
			netCfg.EndpointsConfig[networkName(p, key, def)] = &network.EndpointSettings{Aliases: aliases}
		}
		if len(netNames) > 0 {
			hostCfg.NetworkMode = container.NetworkMode(networkName(p, netNames[0], p.Networks[netNames[0]]))
		}
	}
	spec.opts = client.ContainerCreateOptions{Config: cfg, HostConfig: hostCfg, NetworkingConfig: netCfg, Name: spec.name}
	return spec, nil
}

func mountObject(p *types.Project, spec *createSpec, hc *container.HostConfig, def types.FileObjectConfig, target string, mode *types.FileMode, service, kind, name string) error {
	perm := int64(0o444)
	if mode != nil {
		perm = int64(*mode)
	}
	switch {
	case bool(def.External):
		return fmt.Errorf("service %q: external %s %q needs swarm; not supported", service, kind, name)
	case def.File != "":
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: def.File, Target: target, ReadOnly: true})
		spec.objectFiles = append(spec.objectFiles, fileCopy{Path: target, Mode: perm, Source: def.File})
	case def.Environment != "":
		v, ok := p.Environment[def.Environment]
		if !ok {
			return fmt.Errorf("service %q: %s %q reads environment variable %s, which is not set", service, kind, name, def.Environment)
		}
		spec.copies = append(spec.copies, fileCopy{Path: target, Content: []byte(v), Mode: perm})
	case def.Content != "":
		spec.copies = append(spec.copies, fileCopy{Path: target, Content: []byte(def.Content), Mode: perm})
	default:
		return fmt.Errorf("service %q: %s %q has no file, environment or content", service, kind, name)
	}
	return nil
}

// ulimits are the service's ulimits for the engine, sorted by name.
func ulimits(sc types.ServiceConfig) []*container.Ulimit {
	var out []*container.Ulimit
	for _, n := range slices.Sorted(maps.Keys(sc.Ulimits)) {
		u := sc.Ulimits[n]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single > 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		out = append(out, &container.Ulimit{Name: n, Soft: soft, Hard: hard})
	}
	return out
}

// healthConfig converts a compose healthcheck for the engine, and returns
// its test as exec arguments with the timeout a probe of it gets
// (execTest; nil when disabled).
func healthConfig(hc *types.HealthCheckConfig, apiVersion string) (*container.HealthConfig, []string, time.Duration) {
	h := &container.HealthConfig{Test: hc.Test}
	if hc.Disable {
		h.Test = []string{"NONE"}
	}
	if hc.Interval != nil {
		h.Interval = time.Duration(*hc.Interval)
	}
	if hc.Timeout != nil {
		h.Timeout = time.Duration(*hc.Timeout)
	}
	if hc.StartPeriod != nil {
		h.StartPeriod = time.Duration(*hc.StartPeriod)
	}
	if hc.StartInterval != nil && versions.GreaterThanOrEqualTo(apiVersion, "1.44") {
		h.StartInterval = time.Duration(*hc.StartInterval)
	}
	if hc.Retries != nil {
		h.Retries = int(*hc.Retries)
	}
	test, timeout := execTest(h)
	return h, test, timeout
}

func networkName(p *types.Project, key string, def types.NetworkConfig) string {
	return engine.NetworkName(p.Name, key, def)
}

func sortedNetworks(sc types.ServiceConfig) []string {
	type kv struct {
		key  string
		prio int
	}
	var list []kv
	for k, v := range sc.Networks {
		prio := 0
		if v != nil {
			prio = v.Priority
		}
		list = append(list, kv{k, prio})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].prio != list[j].prio {
			return list[i].prio > list[j].prio
		}
		return list[i].key < list[j].key
	})
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.key
	}
	return out
}

func restartPolicy(p compose.RestartPolicy) container.RestartPolicy {
	switch p.Mode {
	case compose.RestartNo:
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}
	case compose.RestartOnFailure:
		return container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: p.MaxRetries}
	}
	return container.RestartPolicy{Name: container.RestartPolicyMode(p.Mode)}
}

func withProto(p string) string {
	if strings.Contains(p, "/") {
		return p
	}
	return p + "/tcp"
}
