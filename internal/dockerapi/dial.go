package dockerapi

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Dialing through the engine. On an engine that is not this machine's
// socket the backends' addresses are the engine host's business: nothing
// says this machine can route to them (a build host behind SSH, a VM). So
// verify --audit dials from where the inits ran: a helper container on the
// project's networks runs this very infractl binary, and each connection is
// an exec of `infractl dial-stdio` in it, spoken over the exec's hijacked
// stream, as `docker system dial-stdio` does for the engine itself. The
// helper's image is made from the binary by an import (no registry, no
// build); the helper removes itself when infractl goes (its stdin closes).

// LabelDialHelper marks the helper container (its value: the project).
// It is deliberately not a compose label: the helper is no container of the
// project for compose or for verify's checks.
const LabelDialHelper = "infractl.dial-helper"

// Hidden commands the helper runs (internal/cli implements them).
const (
	DialHelperCommand = "dial-helper" // waits until its stdin closes
	DialStdioCommand  = "dial-stdio"  // dial-stdio NETWORK ADDRESS: pipes stdin/stdout to the connection
	// DialReady is the line dial-stdio writes to stderr once connected.
	DialReady = "connected"
)

// helpers are the dial helpers an engine created, removed on Close.
type helpers struct {
	mu   sync.Mutex
	byPr map[string]*helper
}

type helper struct {
	id     string
	attach client.HijackedResponse
	err    error
	once   sync.Once
}

// get returns the project's helper, creating it on first use.
func (hs *helpers) get(ctx context.Context, cli *client.Client, project string, nets networkLister) (*helper, error) {
	hs.mu.Lock()
	if hs.byPr == nil {
		hs.byPr = map[string]*helper{}
	}
	h := hs.byPr[project]
	if h == nil {
		h = &helper{}
		hs.byPr[project] = h
	}
	hs.mu.Unlock()
	h.once.Do(func() { h.err = h.start(ctx, cli, project, nets) })
	return h, h.err
}

// closeAll removes every helper; a helper also goes by itself when the
// attached stdin closes (infractl killed).
func (hs *helpers) closeAll(cli *client.Client) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, h := range hs.byPr {
		if h.id == "" {
			continue
		}
		if h.attach.Conn != nil {
			h.attach.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// Closing its stdin ends the helper, and the engine removes it
		// (AutoRemove) while this removal runs: either may answer "in
		// progress". It is gone when the engine no longer knows it.
		_, _ = cli.ContainerRemove(ctx, h.id, client.ContainerRemoveOptions{Force: true})
		for {
			if _, err := cli.ContainerInspect(ctx, h.id, client.ContainerInspectOptions{}); err != nil {
				break // not found, or the engine is gone: nothing more to do
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
				continue
			}
			break
		}
		cancel()
	}
	hs.byPr = nil
}

// networkLister lists the networks a helper joins, sorted.
type networkLister func(ctx context.Context) ([]string, error)

func (h *helper) start(ctx context.Context, cli *client.Client, project string, list networkLister) error {
	img, err := helperImage(ctx, cli)
	if err != nil {
		return err
	}
	nets, err := list(ctx)
	if err != nil {
		return err
	}
	if len(nets) == 0 {
		return fmt.Errorf("project %q has no container on a network to dial from", project)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := project + "-infractl-dial-" + hex.EncodeToString(suffix)
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image: img, Cmd: []string{DialHelperCommand},
			OpenStdin: true, StdinOnce: true, AttachStdin: true,
			Labels: map[string]string{LabelDialHelper: project},
		},
		HostConfig: &container.HostConfig{AutoRemove: true, NetworkMode: container.NetworkMode(nets[0])},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			nets[0]: {},
		}},
	})
	if err != nil {
		return fmt.Errorf("create the dial helper: %w", classify(err))
	}
	h.id = res.ID
	for _, n := range nets[1:] {
		if _, err := cli.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: res.ID}); err != nil {
			return fmt.Errorf("connect the dial helper to network %s: %w", n, classify(err))
		}
	}
	att, err := cli.ContainerAttach(ctx, res.ID, client.ContainerAttachOptions{Stream: true, Stdin: true})
	if err != nil {
		return fmt.Errorf("attach the dial helper: %w", classify(err))
	}
	h.attach = att.HijackedResponse
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start the dial helper: %w", classify(err))
	}
	return nil
}

// projectNetworks are the networks the project's containers are on, sorted.
func projectNetworks(ctx context.Context, cli *client.Client, project string) ([]string, error) {
	f := client.Filters{}
	f.Add("label", LabelProject+"="+project)
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, engineErr("list containers", err)
	}
	seen := map[string]bool{}
	for _, c := range list.Items {
		if c.NetworkSettings == nil {
			continue
		}
		for n := range c.NetworkSettings.Networks {
			if n != "host" && n != "none" && n != "bridge" {
				seen[n] = true
			}
		}
	}
	nets := make([]string, 0, len(seen))
	for n := range seen {
		nets = append(nets, n)
	}
	slices.Sort(nets)
	return nets, nil
}

// helperImage imports this binary as an image (once per binary): a single
// file, /infractl, as entrypoint.
func helperImage(ctx context.Context, cli *client.Client) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return "", err
	}
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", engineErr("engine version", err)
	}
	if err := runnableOn(bin, v.Os, v.Arch); err != nil {
		return "", err
	}
	sum := sha256.Sum256(bin)
	ref := "infractl/dial-helper:" + hex.EncodeToString(sum[:6])
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		PruneHelperImages(ctx, cli, ref)
		return ref, nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "infractl", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return "", err
	}
	if _, err := tw.Write(bin); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	rc, err := cli.ImageImport(ctx, client.ImageImportSource{Source: &buf, SourceName: "-"}, ref, client.ImageImportOptions{
		Changes: []string{`ENTRYPOINT ["/infractl"]`, "LABEL " + LabelDialHelper + "=image"},
	})
	if err != nil {
		return "", fmt.Errorf("import the dial helper image: %w", classify(err))
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return "", fmt.Errorf("import the dial helper image: %w", classify(err))
	}
	PruneHelperImages(ctx, cli, ref)
	return ref, nil
}

// PruneHelperImages removes the dial helper images of other infractl
// builds (each build imports its own): every image labelled as one but
// keep. One that a container still uses (another infractl's running
// audit) is left; the engine refuses to remove it.
func PruneHelperImages(ctx context.Context, cli *client.Client, keep string) (removed []string) {
	list, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", LabelDialHelper+"=image")})
	if err != nil {
		return nil
	}
	for _, img := range list.Items {
		if slices.Contains(img.RepoTags, keep) {
			continue
		}
		for _, tag := range img.RepoTags {
			if !strings.HasPrefix(tag, "infractl/dial-helper:") {
				continue
			}
			if _, err := cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{}); err == nil {
				removed = append(removed, tag)
			}
		}
	}
	return removed
}

// runnableOn checks that bin, this infractl, can run alone in an empty
// container of the engine: a static ELF for its OS and architecture.
func runnableOn(bin []byte, goos, arch string) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("this infractl is not a Linux binary, and the engine runs it next to the backends: run verify --audit with a linux/%s infractl", arch)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM, "386": elf.EM_386, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV}
	if goos != "linux" || want[arch] != f.Machine {
		return fmt.Errorf("this infractl is built for %s, the engine is %s/%s, and it runs infractl next to the backends: run verify --audit with a %s/%s infractl", f.Machine, goos, arch, goos, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("this infractl is linked dynamically and cannot run alone next to the backends: build it with CGO_ENABLED=0 (make build does)")
		}
	}
	return nil
}

// dialThrough connects to addr from the project's networks (names resolved
// by Docker DNS there).
func dialThrough(ctx context.Context, cli *client.Client, hs *helpers, project, netw, addr string) (net.Conn, error) {
	return dialThroughNets(ctx, cli, hs, project, netw, addr, func(ctx context.Context) ([]string, error) {
		return projectNetworks(ctx, cli, project)
	})
}

// dialThroughNets is dialThrough from a helper on the networks list gives.
func dialThroughNets(ctx context.Context, cli *client.Client, hs *helpers, project, netw, addr string, list networkLister) (net.Conn, error) {
	h, err := hs.get(ctx, cli, project, list)
	if err != nil {
		return nil, fmt.Errorf("dial %s through the engine: %w", addr, err)
	}
	ex, err := cli.ExecCreate(ctx, h.id, client.ExecCreateOptions{
		Cmd: []string{"/infractl", DialStdioCommand, netw, addr}, AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s through the engine: %w", addr, classify(err))
	}
	att, err := cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("dial %s through the engine: %w", addr, classify(err))
	}
	c := &execConn{hr: att.HijackedResponse, addr: addr}
	if dl, ok := ctx.Deadline(); ok {
		_ = att.Conn.SetReadDeadline(dl)
	}
	// The first line on stderr says whether dial-stdio connected.
	line, err := c.readStatus()
	_ = att.Conn.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s through the engine: %w", addr, err)
	}
	if line != DialReady {
		c.Close()
		return nil, fmt.Errorf("dial %s %s (from the project's network): %s", netw, addr, strings.TrimPrefix(line, "ERROR: "))
	}
	return c, nil
}

// execConn is a net.Conn over an exec's hijacked stream: writes go to the
// process's stdin, reads come from its stdout, demultiplexed (the engine
// frames stdout and stderr with 8-byte headers when there is no TTY).
type execConn struct {
	hr   client.HijackedResponse
	addr string
	// The frame being read: header bytes so far, then what is left of it.
	hdr    [8]byte
	hdrN   int
	left   int
	stream byte
	stderr bytes.Buffer
}

// frame reads the next header, resuming a partial one (a read deadline
// may cut it short).
func (c *execConn) frame() error {
	for c.hdrN < len(c.hdr) {
		n, err := c.hr.Reader.Read(c.hdr[c.hdrN:])
		c.hdrN += n
		if err != nil {
			return err
		}
	}
	c.stream = c.hdr[0]
	c.left = int(binary.BigEndian.Uint32(c.hdr[4:]))
	c.hdrN = 0
	return nil
}

// readStatus reads stderr up to its first line, keeping stdout frames'
// bytes for Read (there are none before the line).
func (c *execConn) readStatus() (string, error) {
	for {
		if i := bytes.IndexByte(c.stderr.Bytes(), '\n'); i >= 0 {
			line := string(c.stderr.Next(i + 1))
			return strings.TrimSpace(line), nil
		}
		if c.left == 0 {
			if err := c.frame(); err != nil {
				if errors.Is(err, io.EOF) {
					if s := strings.TrimSpace(c.stderr.String()); s != "" {
						return s, nil
					}
					return "", errors.New("the dial helper ended without a word")
				}
				return "", err
			}
			continue
		}
		if c.stream == 1 {
			return "", errors.New("the dial helper wrote before connecting")
		}
		if _, err := io.CopyN(&c.stderr, c.hr.Reader, int64(c.left)); err != nil {
			return "", err
		}
		c.left = 0
	}
}

func (c *execConn) Read(p []byte) (int, error) {
	for {
		if c.left == 0 {
			if err := c.frame(); err != nil {
				return 0, err
			}
			continue
		}
		if c.stream != 1 {
			// stderr after the status: dial-stdio's last words; keep a
			// little, drop the rest.
			n, err := io.CopyN(io.Discard, c.hr.Reader, int64(c.left))
			c.left -= int(n)
			if err != nil {
				return 0, err
			}
			continue
		}
		q := p
		if len(q) > c.left {
			q = q[:c.left]
		}
		n, err := c.hr.Reader.Read(q)
		c.left -= n
		return n, err
	}
}

func (c *execConn) Write(p []byte) (int, error) { return c.hr.Conn.Write(p) }

func (c *execConn) Close() error { c.hr.Close(); return nil }

// CloseWrite closes the process's stdin (dial-stdio then half-closes the
// connection), when the transport can.
func (c *execConn) CloseWrite() error { return c.hr.CloseWrite() }

func (c *execConn) LocalAddr() net.Addr                { return c.hr.Conn.LocalAddr() }
func (c *execConn) RemoteAddr() net.Addr               { return engineAddr(c.addr) }
func (c *execConn) SetDeadline(t time.Time) error      { return c.hr.Conn.SetDeadline(t) }
func (c *execConn) SetReadDeadline(t time.Time) error  { return c.hr.Conn.SetReadDeadline(t) }
func (c *execConn) SetWriteDeadline(t time.Time) error { return c.hr.Conn.SetWriteDeadline(t) }

type engineAddr string

func (engineAddr) Network() string  { return "tcp" }
func (a engineAddr) String() string { return string(a) }
