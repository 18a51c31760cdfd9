//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/dockerapi"
)

// pki is a CA, a server certificate for 127.0.0.1 and a client
// certificate, made for the test.
type pki struct {
	dir    string // ca.pem, cert.pem, key.pem (the client's), as DOCKER_CERT_PATH wants
	pool   *x509.CertPool
	server tls.Certificate
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "infractl e2e CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "infractl e2e"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	sCert, sKey := leaf(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	cCert, cKey := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	for f, b := range map[string][]byte{"ca.pem": caPEM, "cert.pem": cCert, "key.pem": cKey} {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	server, err := tls.X509KeyPair(sCert, sKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pki{dir: dir, pool: pool, server: server}
}

// tlsEngine serves the local engine's API on 127.0.0.1 behind mutual TLS
// (a TLS-terminating proxy in front of the socket) and returns its address.
func tlsEngine(t *testing.T, p pki) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				up, err := net.Dial("unix", "/var/run/docker.sock")
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestE2ERemoteEngineOverMutualTLS: DOCKER_HOST=tcp://... with
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH runs up on that endpoint, file
// secrets copied through the API; a client certificate the server does not
// trust is exit 3 naming the endpoint.
func TestE2ERemoteEngineOverMutualTLS(t *testing.T) {
	p := newPKI(t)
	addr := tlsEngine(t, p)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte("remote-s3cr3t-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `services:
  seed:
    image: infractl/toolbox:latest
    restart: "no"
    secrets: [token]
    command: ["sh", "-c", "test -s /run/secrets/token && echo seeded with a secret of $$(wc -c < /run/secrets/token) bytes"]
secrets:
  token: {file: ./token.txt}
`
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-f", filepath.Join(dir, "compose.yaml"), "-p", "e2e-remote-tls"}
	down(t, flags)
	t.Cleanup(func() { down(t, flags) })
	env := []string{"DOCKER_HOST=tcp://" + addr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + p.dir}
	r := infraEnv(t, env, args("up", flags, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("up over TLS: exit %d\n%s", r.code, r.stdout)
	}
	v := verdict(t, r.stdout)
	if !strings.Contains(v.Endpoint, "tcp://"+addr+" (from DOCKER_HOST)") {
		t.Errorf("verdict endpoint %q", v.Endpoint)
	}
	if s := service(t, v, "seed"); s.Outcome != "ok" {
		t.Errorf("seed: %s %s", s.Outcome, s.Detail)
	}
	// The secret was copied in, not bind-mounted from this machine's path.
	insp := projectInspect(t, "e2e-remote-tls")["seed"]
	for _, m := range insp.Mounts {
		if strings.Contains(m.Source, "token.txt") {
			t.Errorf("the file secret is bind-mounted from %s", m.Source)
		}
	}
	// The dial helper images of other infractl builds are removed when
	// the audit makes its helper (each build imports its own); one a
	// container still uses is left (#25 item 18).
	oldHelper, usedHelper := oldHelperImage(t, "e2e-old-build"), oldHelperImage(t, "e2e-old-in-use")
	if out, err := exec.Command("docker", "create", "--name", "e2e-old-helper-user", usedHelper).CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("docker", "rm", "-f", "e2e-old-helper-user").Run()
		_ = exec.Command("docker", "rmi", "-f", usedHelper, oldHelper).Run()
	})
	// up, verify --audit and down of a stack with secrets, a gated init and
	// declared resources, through the same endpoint.
	remoteRoundTrip(t, env, nil, "tcp://"+addr+" (from DOCKER_HOST)")
	if _, err := docker.ImageInspect(t.Context(), oldHelper); err == nil {
		t.Errorf("the old dial helper image %s is still there after verify --audit", oldHelper)
	}
	if _, err := docker.ImageInspect(t.Context(), usedHelper); err != nil {
		t.Errorf("the dial helper image %s a container uses was removed: %v", usedHelper, err)
	}
	// A client certificate from another CA: the server refuses it.
	other := newPKI(t)
	_ = os.WriteFile(filepath.Join(other.dir, "ca.pem"), mustRead(t, filepath.Join(p.dir, "ca.pem")), 0o600)
	r = infraEnv(t, []string{"DOCKER_HOST=tcp://" + addr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + other.dir}, args("up", flags)...)
	if r.code != 3 || !strings.Contains(r.stderr, "cannot reach the Docker engine at tcp://"+addr) {
		t.Errorf("untrusted client certificate: exit %d\n%s", r.code, r.stderr)
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestE2EDockerContextSelectedThreeWays: a context made by the real
// `docker context create` (tcp + TLS) is used when chosen by --context, by
// DOCKER_CONTEXT and by the config's currentContext (docker context use):
// version names it, and up, verify --audit and down run through it.
func TestE2EDockerContextSelectedThreeWays(t *testing.T) {
	p := newPKI(t)
	addr := tlsEngine(t, p)
	cfg := t.TempDir()
	dockerCLI := func(args ...string) {
		t.Helper()
		cmd := exec.Command("docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	dockerCLI("context", "create", "e2e-tls", "--docker",
		"host=tcp://"+addr+",ca="+filepath.Join(p.dir, "ca.pem")+",cert="+filepath.Join(p.dir, "cert.pem")+",key="+filepath.Join(p.dir, "key.pem"))
	base := []string{"DOCKER_CONFIG=" + cfg}
	for _, tt := range []struct {
		name   string
		env    []string
		global []string
		from   string
	}{
		{"--context", base, []string{"--context", "e2e-tls"}, "from --context"},
		{"DOCKER_CONTEXT", append(base, "DOCKER_CONTEXT=e2e-tls"), nil, "from DOCKER_CONTEXT"},
		{"currentContext", base, nil, "from currentContext in " + filepath.Join(cfg, "config.json")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "currentContext" {
				dockerCLI("context", "use", "e2e-tls")
			}
			want := `tcp://` + addr + ` (context "e2e-tls", ` + tt.from + `)`
			r := infraEnv(t, tt.env, append(tt.global, "version")...)
			if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "(API 1.") {
				t.Errorf("version: exit %d\n%s", r.code, r.stdout)
			}
			remoteRoundTrip(t, tt.env, tt.global, want)
		})
	}
}

// TestE2ERemoteEngineOverSSH: DOCKER_HOST=ssh://root@<alias> runs `ssh ...
// docker system dial-stdio` on the "remote" (an sshd on 127.0.0.1 with a
// test key and known_hosts entry, reached through ~/.ssh/config as the
// docker CLI would) and up works through it.
func TestE2ERemoteEngineOverSSH(t *testing.T) {
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		t.Fatalf("openssh-server is missing (make e2e installs it): %v", err)
	}
	dir := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "client"))
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host"))
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), mustRead(t, filepath.Join(dir, "client.pub")), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A second port where the "remote" host has no docker on its PATH.
	noDocker := ln2.Addr().(*net.TCPAddr).Port
	ln.Close()
	ln2.Close()
	cfg := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(strings.Join([]string{
		"ListenAddress 127.0.0.1", "Port " + itoa(port), "Port " + itoa(noDocker), "HostKey " + filepath.Join(dir, "host"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"), "PermitRootLogin prohibit-password",
		"PasswordAuthentication no", "StrictModes no", "UsePAM no", "PidFile " + filepath.Join(dir, "sshd.pid"),
		"SetEnv PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"Match LocalPort " + itoa(noDocker), "  SetEnv PATH=/var/empty", "",
	}, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll("/run/sshd", 0o755)
	d := exec.Command(sshd, "-D", "-e", "-f", cfg)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Process.Kill(); _ = d.Wait() })
	// known_hosts, and a Host alias in ~/.ssh/config (restored afterwards):
	// ssh reads the user's config, as for the docker CLI.
	hostPub := strings.Fields(string(mustRead(t, filepath.Join(dir, "host.pub"))))
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte("[127.0.0.1]:"+itoa(port)+" "+hostPub[0]+" "+hostPub[1]+"\n"+
		"[127.0.0.1]:"+itoa(noDocker)+" "+hostPub[0]+" "+hostPub[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	sshConfig := filepath.Join(home, ".ssh", "config")
	old, readErr := os.ReadFile(sshConfig)
	_ = os.MkdirAll(filepath.Dir(sshConfig), 0o700)
	hostBlock := func(alias string, port int) string {
		return "Host " + alias + "\n  HostName 127.0.0.1\n  Port " + itoa(port) + "\n  User root\n  IdentityFile " + filepath.Join(dir, "client") +
			"\n  UserKnownHostsFile " + known + "\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n\n"
	}
	block := hostBlock("infractl-e2e-ssh", port) + hostBlock("infractl-e2e-ssh-nodocker", noDocker)
	if err := os.WriteFile(sshConfig, append([]byte(block), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if readErr != nil {
			_ = os.Remove(sshConfig)
		} else {
			_ = os.WriteFile(sshConfig, old, 0o600)
		}
	})
	// sshd is up once it accepts a connection.
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+itoa(port)); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("sshd did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	env := []string{"DOCKER_HOST=ssh://root@infractl-e2e-ssh"}
	r := infraEnv(t, env, "version")
	if r.code != 0 || !strings.Contains(r.stdout, "ssh://root@infractl-e2e-ssh (from DOCKER_HOST)") || !strings.Contains(r.stdout, "(API 1.") {
		t.Fatalf("version over ssh: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	remoteRoundTrip(t, env, nil, "ssh://root@infractl-e2e-ssh (from DOCKER_HOST)")
	// A host ssh does not know: exit 3, ssh's own words.
	r = infraEnv(t, []string{"DOCKER_HOST=ssh://root@127.0.0.1:1"}, "up", "-f", filepath.Join(fixture("chain"), "compose.yaml"), "-p", "never-created")
	if r.code != 3 || !strings.Contains(r.stderr, "ssh") {
		t.Errorf("unreachable ssh host: exit %d\n%s", r.code, r.stderr)
	}
	// A host that lets us in but has no docker: exit 3, one line naming
	// the endpoint and what the host said, nothing created.
	r = infraEnv(t, []string{"DOCKER_HOST=ssh://root@infractl-e2e-ssh-nodocker"}, "up", "-f", filepath.Join(fixture("chain"), "compose.yaml"), "-p", "never-created")
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.code != 3 || len(lines) != 1 ||
		!strings.Contains(r.stderr, "ssh://root@infractl-e2e-ssh-nodocker") || !strings.Contains(r.stderr, "no docker command on its PATH") {
		t.Errorf("ssh host without docker: exit %d\n%s", r.code, r.stderr)
	}
	if c, n, v := projectResources(t, "never-created"); c+n+v != 0 {
		t.Errorf("a refused run created %d containers, %d networks, %d volumes", c, n, v)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// plainProxy serves the local engine's API on 127.0.0.1 (no TLS) until
// cut is called, which closes the listener and every connection: the
// engine is lost to whoever talks through it.
func plainProxy(t *testing.T) (addr string, cut func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", "/var/run/docker.sock")
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				up.Close()
				return
			}
			conns = append(conns, c, up)
			mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	cut = func() {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		closed = true
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(cut)
	return ln.Addr().String(), cut
}

// TestE2EEngineLostMidRunExits3: the engine goes away while an init runs
// (its connection is cut): up ends promptly with exit 3, naming the engine,
// and says the init it started may still run; nothing hangs until
// --timeout.
func TestE2EEngineLostMidRunExits3(t *testing.T) {
	addr, cut := plainProxy(t)
	flags := project(t, "e2e-slow-init")
	p := projectName(flags)
	cmd := exec.Command(infractl, args("up", flags, "--timeout", "10m")...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "DOCKER_HOST=tcp://"+addr)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Once slow-init runs (seen by the test's own client), cut the engine.
	ctx := t.Context()
	for {
		cs, err := projectContainers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		running := false
		for _, c := range cs {
			if c.Labels["com.docker.compose.service"] == "slow-init" && string(c.State) == "running" {
				running = true
			}
		}
		if running {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cut()
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 3 || !strings.Contains(stderr.String(), "ERROR: engine tcp://"+addr) || !strings.Contains(stderr.String(), "lost the Docker engine") {
		t.Errorf("exit %d, want 3 naming the engine\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String()+stderr.String(), "may still run") {
		t.Errorf("the verdict does not say the init may still run:\n%s", stdout.String())
	}
}

// oldHelperImage imports a one-file image labelled as a dial helper of
// another infractl build, tagged infractl/dial-helper:<tag>.
func oldHelperImage(t *testing.T, tag string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "infractl"), []byte(tag), 0o755); err != nil {
		t.Fatal(err)
	}
	ref := "infractl/dial-helper:" + tag
	cmd := exec.Command("sh", "-c", "tar -C "+dir+" -c infractl | docker import --change 'LABEL "+dockerapi.LabelDialHelper+"=image' --change 'ENTRYPOINT [\"/infractl\"]' - "+ref)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import %s: %v\n%s", ref, err, out)
	}
	return ref
}
