package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// docker compose decides whether a container is up to date by comparing its
// com.docker.compose.config-hash label with the SHA-256 of the service's
// JSON, as marshalled by the compose-go it was built with. docker compose
// v5.6.0 pins the JSON's root key order (composeV5ServiceKeys). The
// previous reference, docker compose v2.40.3, vendors compose-go v2.9.1; infractl loads with
// v2.16.2, whose ServiceConfig marshals the same configuration with its
// keys in another order and two defaults written differently. ServiceHash
// rebuilds v2.9.1's JSON from v2.16.2's, so both tools keep each other's
// unchanged containers.

// composeV29ServiceKeys is the order of compose-go v2.9.1's ServiceConfig
// JSON keys.
var composeV29ServiceKeys = []string{
	"profiles", "annotations", "attach", "build", "develop", "blkio_config", "cap_add", "cap_drop",
	"cgroup_parent", "cgroup", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
	"cpu_rt_runtime", "cpus", "cpuset", "cpu_shares", "command", "configs", "container_name",
	"credential_spec", "depends_on", "deploy", "device_cgroup_rules", "devices", "dns", "dns_opt",
	"dns_search", "dockerfile", "domainname", "entrypoint", "provider", "environment", "env_file",
	"expose", "extends", "external_links", "extra_hosts", "group_add", "gpus", "hostname",
	"healthcheck", "image", "init", "ipc", "isolation", "labels", "label_file", "links", "logging",
	"log_driver", "log_opt", "mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness",
	"mac_address", "models", "net", "network_mode", "networks", "oom_kill_disable", "oom_score_adj",
	"pid", "pids_limit", "platform", "ports", "privileged", "pull_policy", "read_only", "restart",
	"runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period",
	"stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user",
	"userns_mode", "uts", "volume_driver", "volumes", "volumes_from", "working_dir", "post_start",
	"pre_stop",
}

// composeV5ServiceKeys is the order docker compose v5.6.0 pins the root keys
// of a service's hashed JSON to (compose-go's historical field order, with
// pre_start and pull_refresh_after placed), so that the hash does not move
// when compose-go reorders its fields; keys it does not list follow, sorted.
var composeV5ServiceKeys = func() []string {
	keys := slices.Clone(composeV29ServiceKeys)
	i := slices.Index(keys, "post_start")
	keys = slices.Insert(keys, i, "pre_start")
	return append(keys, "pull_refresh_after")
}()

// ServiceHash is the config hash docker compose v5.6.0 (ComposeVersion)
// computes for a service (the JSON of the service without build, pull
// policy, scale, replicas, depends_on and profiles, its root keys in a
// pinned order), and infractl writes.
func ServiceHash(sc types.ServiceConfig) (string, error) {
	hashes, err := ServiceHashes(sc)
	if err != nil {
		return "", err
	}
	return hashes[0], nil
}

// ServiceHashes are the config hashes that mean "this container runs the
// service as configured": docker compose v5.6.0's (written), then v2.40.3's
// when there is one (compose-go v2.9.1 knows every key the service uses),
// then the one of compose-go v2.16.2's JSON in its own order.
func ServiceHashes(sc types.ServiceConfig) ([]string, error) {
	sc.Build = nil
	sc.PullPolicy = ""
	sc.Scale = nil
	if sc.Deploy != nil {
		d := *sc.Deploy
		d.Replicas = nil
		sc.Deploy = &d
	}
	sc.DependsOn = nil
	sc.Profiles = nil
	raw, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	native := sha(raw)
	v5, err := pinKeys(raw, composeV5ServiceKeys)
	if err != nil {
		return nil, err
	}
	hashes := []string{sha(v5)}
	if v29, err := composeV29JSON(raw); err == nil {
		hashes = append(hashes, sha(v29))
	}
	if !slices.Contains(hashes, native) {
		hashes = append(hashes, native)
	}
	return hashes, nil
}

// pinKeys re-orders a JSON object's root keys: those in order first, in
// that order, then the rest sorted; values are kept byte for byte.
func pinKeys(raw []byte, order []string) ([]byte, error) {
	ms, err := members(raw)
	if err != nil {
		return nil, err
	}
	rank := func(k string) int {
		if i := slices.Index(order, k); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		if ra, rb := rank(a.key), rank(b.key); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.key, b.key)
	})
	return object(ms), nil
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// member is one key and raw value of a JSON object, in document order.
type member struct {
	key string
	val json.RawMessage
}

func members(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{t.(string), v})
	}
	return out, nil
}

func object(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// composeV29JSON turns compose-go v2.16.2's JSON of a service into the JSON
// v2.9.1 produces for the same service: its key order, env_file entries
// that are required written as their path, and bind mounts' default
// create_host_path: true written out (v2.16.2 writes only false).
func composeV29JSON(raw []byte) ([]byte, error) {
	ms, err := members(raw)
	if err != nil {
		return nil, err
	}
	byKey := map[string]json.RawMessage{}
	for _, m := range ms {
		if !slices.Contains(composeV29ServiceKeys, m.key) {
			return nil, fmt.Errorf("compose-go v2.9.1 has no %q", m.key)
		}
		byKey[m.key] = m.val
	}
	if v, ok := byKey["env_file"]; ok {
		if byKey["env_file"], err = envFilesV29(v); err != nil {
			return nil, err
		}
	}
	if v, ok := byKey["volumes"]; ok {
		if byKey["volumes"], err = volumesV29(v); err != nil {
			return nil, err
		}
	}
	var out []member
	for _, k := range composeV29ServiceKeys {
		if v, ok := byKey[k]; ok {
			out = append(out, member{k, v})
		}
	}
	return object(out), nil
}

func envFilesV29(raw json.RawMessage) (json.RawMessage, error) {
	var files []json.RawMessage
	if err := json.Unmarshal(raw, &files); err != nil {
		return nil, err
	}
	for i, f := range files {
		ms, err := members(f)
		if err != nil {
			return nil, err
		}
		required, path := true, json.RawMessage(`""`)
		for _, m := range ms {
			switch m.key {
			case "required":
				required = string(m.val) == "true"
			case "path":
				path = m.val
			}
		}
		if required {
			files[i] = path
			continue
		}
		// path, required, format: the order both versions share.
		files[i] = f
	}
	return json.Marshal(files)
}

func volumesV29(raw json.RawMessage) (json.RawMessage, error) {
	var vols []json.RawMessage
	if err := json.Unmarshal(raw, &vols); err != nil {
		return nil, err
	}
	for i, v := range vols {
		ms, err := members(v)
		if err != nil {
			return nil, err
		}
		for j, m := range ms {
			if m.key != "bind" {
				continue
			}
			bind, err := members(m.val)
			if err != nil {
				return nil, err
			}
			// Both versions order selinux, propagation, create_host_path,
			// recursive; v2.16.2 writes create_host_path only when false,
			// v2.9.1 only when true.
			create := !slices.ContainsFunc(bind, func(b member) bool {
				return b.key == "create_host_path" && string(b.val) == "false"
			})
			var out []member
			for _, b := range bind {
				if b.key == "create_host_path" {
					continue
				}
				if b.key == "recursive" && create {
					out, create = append(out, member{"create_host_path", json.RawMessage("true")}), false
				}
				out = append(out, b)
			}
			if create {
				out = append(out, member{"create_host_path", json.RawMessage("true")})
			}
			ms[j].val = object(out)
		}
		vols[i] = object(ms)
	}
	return json.Marshal(vols)
}
