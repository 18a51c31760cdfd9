package dockerapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/endpoint"
	"github.com/infractl/infractl/internal/engine"
)

// ConnectTo connects to the engine at ep (endpoint.Resolve), with API
// version negotiation, and checks that it answers. TLS comes from the
// context's material, or for a host given by -H/DOCKER_HOST from
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (default: the docker config
// folder, as the docker CLI defaults it). ssh:// runs `ssh ... docker
// system dial-stdio` on the host and speaks the API over that pipe, as the
// docker CLI does (so ~/.ssh/config, known_hosts and the agent apply).
func ConnectTo(ctx context.Context, ep endpoint.Endpoint, env endpoint.Getenv) (*Engine, error) {
	opts := []client.Opt{client.WithAPIVersionFromEnv()}
	var w *watchdog
	switch {
	case strings.HasPrefix(ep.Host, "ssh://"):
		dial, err := sshDialer(ep.Host)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w: %w", ep, err, endpoint.ErrEndpoint, engine.ErrEngine)
		}
		w = newWatchdog(ep.String(), dial)
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: w.dial}}),
			client.WithHost("http://docker.example.com"), client.WithDialContext(w.dial))
	case ep.CA != nil || ep.Cert != nil || ep.SkipTLSVerify:
		cfg, err := contextTLS(ep)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w: %w", ep, err, endpoint.ErrEndpoint, engine.ErrEngine)
		}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}), client.WithHost(ep.Host))
	case ep.FromEnvTLS:
		certPath, _ := env("DOCKER_CERT_PATH")
		verify, _ := env("DOCKER_TLS_VERIFY")
		if certPath == "" && verify != "" {
			certPath = endpoint.ConfigDir(env)
		}
		if certPath != "" {
			cfg, err := envTLS(certPath, verify != "")
			if err != nil {
				return nil, fmt.Errorf("%s: %w: %w: %w", ep, err, endpoint.ErrEndpoint, engine.ErrEngine)
			}
			opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}))
		}
		opts = append(opts, client.WithHost(ep.Host))
	default:
		opts = append(opts, client.WithHost(ep.Host))
	}
	if w == nil {
		if base := plainDialer(ep.Host); base != nil {
			w = newWatchdog(ep.String(), base)
			opts = append(opts, client.WithDialContext(w.dial))
		}
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w: %w", ep, err, engine.ErrEngine)
	}
	// An endpoint that accepts the connection and never answers is given
	// up as one that refuses it.
	pctx, cancel := context.WithTimeout(ctx, LossBound)
	_, err = cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	silent := errors.Is(pctx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil && silent && ctx.Err() == nil {
		err = fmt.Errorf("no answer within %s", LossBound)
	}
	if err != nil {
		if w != nil {
			w.Close()
		}
		cli.Close()
		hint := "is dockerd running there? choose another with --context, -H or DOCKER_HOST"
		if msg := err.Error(); strings.HasPrefix(ep.Host, "ssh://") && (strings.Contains(msg, "docker: command not found") || strings.Contains(msg, "docker: not found")) {
			hint = "the host has no docker command on its PATH for ssh; infractl reaches the engine there through `docker system dial-stdio`, as the docker CLI does"
		}
		return nil, fmt.Errorf("cannot reach the Docker engine at %s: %w (%s): %w", ep, err, hint, engine.ErrEngine)
	}
	e := &Engine{cli: cli, ep: ep, watch: w}
	if w != nil {
		w.setPing(func(ctx context.Context) error {
			_, err := cli.Ping(ctx, client.PingOptions{})
			return err
		})
		go func() {
			// Ctrl-C, SIGTERM, SIGHUP: a silent engine is given up on
			// its next missed ping, not after LossBound.
			select {
			case <-ctx.Done():
				w.Hurry()
			case <-w.stop:
			}
		}()
	}
	return e, nil
}

// plainDialer dials a unix:// or tcp:// host (TLS, when configured, is the
// transport's, on top); nil for another scheme.
func plainDialer(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil
	}
	var d net.Dialer
	switch u.Scheme {
	case "unix":
		path := u.Path
		return func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "unix", path) }
	case "tcp":
		addr := u.Host
		return func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	return nil
}

func contextTLS(ep endpoint.Endpoint) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: ep.SkipTLSVerify} //nolint:gosec // the context's own skip-tls-verify
	if ep.CA != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ep.CA) {
			return nil, errors.New("the context's ca.pem holds no certificate")
		}
		cfg.RootCAs = pool
	}
	if ep.Cert != nil {
		pair, err := tls.X509KeyPair(ep.Cert, ep.Key)
		if err != nil {
			return nil, fmt.Errorf("the context's client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func envTLS(dir string, verify bool) (*tls.Config, error) {
	read := func(f string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("DOCKER_CERT_PATH: %w", err)
		}
		return b, nil
	}
	ep := endpoint.Endpoint{SkipTLSVerify: !verify}
	var err error
	if ep.Cert, err = read("cert.pem"); err != nil {
		return nil, err
	}
	if ep.Key, err = read("key.pem"); err != nil {
		return nil, err
	}
	if verify {
		if ep.CA, err = read("ca.pem"); err != nil {
			return nil, err
		}
	}
	return contextTLS(ep)
}

// sshDialer returns a dialer that runs `ssh [-l user] [-p port] host --
// docker system dial-stdio` for each connection.
func sshDialer(host string) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	u, err := url.Parse(host)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("want ssh://[user@]host[:port]")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("ssh:// takes no path (%q)", u.Path)
	}
	args := []string{"-o", "ConnectTimeout=30"}
	if u.User != nil {
		args = append(args, "-l", u.User.Username())
	}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	args = append(args, "-T", "--", u.Hostname(), "docker", "system", "dial-stdio")
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		// The command outlives the dial: it is the connection.
		cmd := exec.Command("ssh", args...)
		return newCommandConn(cmd)
	}, nil
}

// commandConn is a net.Conn over a command's stdin and stdout.
type commandConn struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    io.ReadCloser
	mu     sync.Mutex // guards stderr, written by the command's copier
	stderr *strings.Builder
	once   sync.Once
	// waitOnce starts the one cmd.Wait; exited closes when it returns.
	waitOnce sync.Once
	exited   chan struct{}
}

func newCommandConn(cmd *exec.Cmd) (net.Conn, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &commandConn{cmd: cmd, in: in, out: out, stderr: &strings.Builder{}}
	cmd.Stderr = &limitedWriter{w: lockedWriter{mu: &c.mu, w: c.stderr}, n: 4096}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	return c, nil
}

func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.out.Read(p)
	if errors.Is(err, io.EOF) {
		// The command's standard output ended: wait (briefly) for it to
		// exit, so all it wrote to stderr is read before it is quoted.
		c.waitExit(2 * time.Second)
		if msg := c.stderrText(); msg != "" {
			return n, fmt.Errorf("ssh: %s", strings.TrimPrefix(msg, "ssh: "))
		}
	}
	return n, err
}

// waitExit waits for the command to exit (and its stderr to be copied), at
// most d.
func (c *commandConn) waitExit(d time.Duration) {
	c.waitOnce.Do(func() {
		c.exited = make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(c.exited) }()
	})
	select {
	case <-c.exited:
	case <-time.After(d):
	}
}

func (c *commandConn) stderrText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSpace(c.stderr.String())
}
func (c *commandConn) Write(p []byte) (int, error) { return c.in.Write(p) }
func (c *commandConn) Close() error {
	c.once.Do(func() {
		c.in.Close()
		c.out.Close()
		if c.cmd.Process != nil {
			_ = c.cmd.Process.Kill()
		}
		c.waitExit(10 * time.Second)
	})
	return nil
}
func (c *commandConn) LocalAddr() net.Addr              { return dummyAddr{} }
func (c *commandConn) RemoteAddr() net.Addr             { return dummyAddr{} }
func (c *commandConn) SetDeadline(time.Time) error      { return nil }
func (c *commandConn) SetReadDeadline(time.Time) error  { return nil }
func (c *commandConn) SetWriteDeadline(time.Time) error { return nil }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "ssh" }
func (dummyAddr) String() string  { return "ssh" }

// lockedWriter writes under a mutex.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	q := p
	if len(q) > l.n {
		q = q[:l.n]
	}
	l.n -= len(q)
	_, _ = l.w.Write(q)
	return len(p), nil
}
