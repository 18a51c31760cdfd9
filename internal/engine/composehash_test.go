package engine

import (
	"encoding/json"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// v29 is what compose-go v2.9.1 (vendored by docker compose v2.40.3)
// marshals for the service in TestComposeV29JSON: printed by a program
// built against v2.9.1 from the same ServiceConfig fields.
const v29 = `{"command":["sh","-c","echo ok"],"entrypoint":null,"environment":{"A":"1"},"env_file":["/srv/a.env",{"path":"/srv/b.env","required":false,"format":"raw"}],"healthcheck":{"test":["CMD","true"]},"image":"toolbox","labels":{"x":"y"},"networks":{"infra_net":null},"restart":"no","stop_signal":"SIGKILL","volumes":[{"type":"bind","source":"/srv/data","target":"/data","bind":{"create_host_path":true}},{"type":"bind","source":"/srv/ro","target":"/ro","read_only":true,"bind":{"propagation":"rprivate"}},{"type":"volume","source":"state","target":"/state","volume":{}}]}`

// What docker compose v5.6.0's compose.ServiceHash returns for v29Service,
// without and with a pre_start hook running "true": printed by a program
// built against github.com/docker/compose/v5@v5.6.0.
const (
	v560Hash     = "0f445d0377dd6d807a759fcf3b1781fee1da06c2876e6e27d833b44ff1860b36"
	v560HookHash = "6b393f909bfe6673f8d1d18fbf90d223a43bf0f0d3c8b4fb51817d00cb12372a"
)

func v29Service() types.ServiceConfig {
	one := "1"
	var sc types.ServiceConfig
	sc.Name = "db-init"
	sc.Image = "toolbox"
	sc.Restart = "no"
	sc.Command = types.ShellCommand{"sh", "-c", "echo ok"}
	sc.Environment = types.MappingWithEquals{"A": &one}
	sc.EnvFiles = []types.EnvFile{{Path: "/srv/a.env", Required: true}, {Path: "/srv/b.env", Required: false, Format: "raw"}}
	sc.Volumes = []types.ServiceVolumeConfig{
		{Type: "bind", Source: "/srv/data", Target: "/data", Bind: &types.ServiceVolumeBind{CreateHostPath: true}},
		{Type: "bind", Source: "/srv/ro", Target: "/ro", ReadOnly: true, Bind: &types.ServiceVolumeBind{Propagation: "rprivate", CreateHostPath: false}},
		{Type: "volume", Source: "state", Target: "/state", Volume: &types.ServiceVolumeVolume{}},
	}
	sc.Networks = map[string]*types.ServiceNetworkConfig{"infra_net": nil}
	sc.Labels = types.Labels{"x": "y"}
	sc.HealthCheck = &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}}
	sc.StopSignal = "SIGKILL"
	return sc
}

func TestComposeV29JSON(t *testing.T) {
	raw, err := json.Marshal(v29Service())
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) == v29 {
		t.Fatal("compose-go's JSON already matches v2.9.1's; the conversion is not exercised")
	}
	got, err := composeV29JSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != v29 {
		t.Errorf("converted:\n%s\nwant (compose-go v2.9.1):\n%s", got, v29)
	}
}

func TestServiceHashIsComposeV560sThenV2403sThenNative(t *testing.T) {
	sc := v29Service()
	hashes, err := ServiceHashes(sc)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(sc)
	if len(hashes) != 3 || hashes[0] != v560Hash || hashes[1] != sha([]byte(v29)) || hashes[2] != sha(raw) {
		t.Errorf("hashes %v, want [sha256(v5.6.0 JSON), sha256(v2.9.1 JSON), native]", hashes)
	}
	// What compose leaves out of the hash does not change it.
	sc.DependsOn = types.DependsOnConfig{"db": {Condition: "service_healthy", Required: true}}
	sc.Profiles = []string{"init"}
	sc.PullPolicy = "never"
	if again, _ := ServiceHashes(sc); again[0] != hashes[0] {
		t.Errorf("depends_on, profiles or pull_policy changed the hash")
	}
	sc.Command = types.ShellCommand{"sh", "-c", "echo changed"}
	if changed, _ := ServiceHashes(sc); changed[0] == hashes[0] {
		t.Errorf("a changed command kept the hash")
	}
}

func TestServiceHashWithoutAComposeV29Form(t *testing.T) {
	sc := v29Service()
	var hook types.PreStartHook
	hook.Command = types.ShellCommand{"true"}
	sc.PreStart = []types.PreStartHook{hook}
	hashes, err := ServiceHashes(sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 2 || hashes[0] != v560HookHash {
		t.Errorf("a pre_start hook (unknown to compose-go v2.9.1) gave %v, want v5.6.0's (%s) and the native one", hashes, v560HookHash)
	}
}
