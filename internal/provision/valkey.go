package provision

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/valkey-io/valkey-go"
)

type valkeyProvisioner struct {
	d   Valkey
	env Env
}

type nodeInfo struct {
	addr     string
	client   valkey.Client
	known    int
	assigned int
	state    string
}

func (p *valkeyProvisioner) connect(ctx context.Context) ([]*nodeInfo, func(), error) {
	dial := p.env.dial()
	var nodes []*nodeInfo
	closeAll := func() {
		for _, n := range nodes {
			n.client.Close()
		}
	}
	for _, addr := range p.d.Nodes {
		var c valkey.Client
		err := p.env.Retry.Wait(ctx, "valkey "+addr, func(ctx context.Context) error {
			cl, err := valkey.NewClient(valkey.ClientOption{
				InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true,
				DialCtxFn: func(ctx context.Context, dst string, _ *net.Dialer, _ *tls.Config) (net.Conn, error) {
					return dial(ctx, "tcp", dst)
				},
			})
			if err != nil {
				return err
			}
			if err := cl.Do(ctx, cl.B().Ping().Build()).Error(); err != nil {
				cl.Close()
				return err
			}
			c = cl
			return nil
		})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		nodes = append(nodes, &nodeInfo{addr: addr, client: c})
	}
	return nodes, closeAll, nil
}

func (n *nodeInfo) refresh(ctx context.Context) error {
	info, err := n.client.Do(ctx, n.client.B().ClusterInfo().Build()).ToString()
	if err != nil {
		return fmt.Errorf("valkey %s: cluster info: %w", n.addr, err)
	}
	// RESP3 returns a verbatim string: "txt:" + the text.
	info = strings.TrimPrefix(info, "txt:")
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "cluster_known_nodes":
			n.known, _ = strconv.Atoi(v)
		case "cluster_slots_assigned":
			n.assigned, _ = strconv.Atoi(v)
		case "cluster_state":
			n.state = v
		}
	}
	return nil
}

// Ensure forms the cluster when every node is empty, accepts it when it is
// formed, and refuses a partial state.
func (p *valkeyProvisioner) Ensure(ctx context.Context) ([]Item, error) { return p.run(ctx, true) }

// Check reports whether the declared cluster is formed and healthy.
func (p *valkeyProvisioner) Check(ctx context.Context) ([]Item, error) { return p.run(ctx, false) }

func (p *valkeyProvisioner) run(ctx context.Context, fix bool) ([]Item, error) {
	nodes, closeAll, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	item := Item{Backend: "valkey", Resource: fmt.Sprintf("cluster of %d nodes (%d replicas per master)", len(nodes), p.d.Replicas)}
	empty, formed := true, true
	for _, n := range nodes {
		if err := n.refresh(ctx); err != nil {
			return nil, err
		}
		if n.known != 1 || n.assigned != 0 {
			empty = false
		}
		if n.known != len(nodes) || n.assigned != 16384 || n.state != "ok" {
			formed = false
		}
	}
	switch {
	case formed:
		masters, replicas, err := roles(ctx, nodes[0])
		if err != nil {
			return nil, err
		}
		wantMasters := len(nodes) / (p.d.Replicas + 1)
		item.Status, item.Detail = OK, fmt.Sprintf("cluster_state:ok, 16384 slots, %d masters, %d replicas", masters, replicas)
		if fix {
			item.Status = Exists
		}
		if masters != wantMasters || replicas != len(nodes)-wantMasters {
			item.Status = Drift
			item.Detail = fmt.Sprintf("%d masters and %d replicas, declared %d and %d", masters, replicas, wantMasters, len(nodes)-wantMasters)
		}
		return []Item{item}, nil
	case empty && !fix:
		item.Status, item.Detail = Missing, "every node is empty: the cluster was never formed"
		return []Item{item}, nil
	case !empty:
		var states []string
		for _, n := range nodes {
			states = append(states, fmt.Sprintf("%s knows %d nodes, %d slots, cluster_state:%s", n.addr, n.known, n.assigned, n.state))
		}
		if !fix {
			item.Status, item.Detail = Drift, "partial cluster state: "+strings.Join(states, "; ")
			return []Item{item}, nil
		}
		return nil, fmt.Errorf("valkey: partial cluster state, refusing to change it (%s); reset the nodes (CLUSTER RESET) or finish forming it by hand", strings.Join(states, "; "))
	}
	if err := p.form(ctx, nodes); err != nil {
		return nil, err
	}
	item.Status, item.Detail = Created, fmt.Sprintf("%d masters, %d replicas", len(nodes)/(p.d.Replicas+1), len(nodes)-len(nodes)/(p.d.Replicas+1))
	return []Item{item}, nil
}

func roles(ctx context.Context, n *nodeInfo) (masters, replicas int, err error) {
	out, err := n.client.Do(ctx, n.client.B().ClusterNodes().Build()).ToString()
	if err != nil {
		return 0, 0, err
	}
	out = strings.TrimPrefix(out, "txt:")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch {
		case strings.Contains(f[2], "master"):
			masters++
		case strings.Contains(f[2], "slave"):
			replicas++
		}
	}
	return masters, replicas, nil
}

// form assigns the slots to the masters, meets every node, and makes the
// remaining nodes replicas.
func (p *valkeyProvisioner) form(ctx context.Context, nodes []*nodeInfo) error {
	nm := len(nodes) / (p.d.Replicas + 1)
	if nm < 1 {
		return fmt.Errorf("valkey: %d nodes cannot hold %d replicas per master", len(nodes), p.d.Replicas)
	}
	do := func(n *nodeInfo, args ...string) error {
		return n.client.Do(ctx, n.client.B().Arbitrary(args[0]).Args(args[1:]...).Build()).Error()
	}
	per := 16384 / nm
	for i := 0; i < nm; i++ {
		start, end := i*per, (i+1)*per-1
		if i == nm-1 {
			end = 16383
		}
		if err := do(nodes[i], "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(start), strconv.Itoa(end)); err != nil {
			return fmt.Errorf("valkey %s: add slots %d-%d: %w", nodes[i].addr, start, end, err)
		}
	}
	for _, n := range nodes[1:] {
		host, port, _ := net.SplitHostPort(n.addr)
		ips, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil || len(ips) == 0 {
			return fmt.Errorf("valkey: resolve %s: %v", host, err)
		}
		if err := do(nodes[0], "CLUSTER", "MEET", ips[0], port); err != nil {
			return fmt.Errorf("valkey: meet %s: %w", n.addr, err)
		}
	}
	wait := func(what string, ok func(n *nodeInfo) bool) error {
		return p.env.Retry.Wait(ctx, "valkey cluster "+what, func(ctx context.Context) error {
			for _, n := range nodes {
				if err := n.refresh(ctx); err != nil {
					return err
				}
				if !ok(n) {
					return fmt.Errorf("%s: %d known nodes, %d slots, state %s", n.addr, n.known, n.assigned, n.state)
				}
			}
			return nil
		})
	}
	if err := wait("meeting", func(n *nodeInfo) bool { return n.known == len(nodes) }); err != nil {
		return err
	}
	for j, n := range nodes[nm:] {
		master := nodes[j%nm]
		id, err := master.client.Do(ctx, master.client.B().Arbitrary("CLUSTER", "MYID").Build()).ToString()
		if err != nil {
			return fmt.Errorf("valkey %s: myid: %w", master.addr, err)
		}
		if err := p.env.Retry.Wait(ctx, "valkey replica "+n.addr, func(ctx context.Context) error {
			return do(n, "CLUSTER", "REPLICATE", strings.TrimSpace(id))
		}); err != nil {
			return err
		}
	}
	// Done when every node sees the cluster ok and the same roles: a
	// replica's role reaches the other nodes by gossip, so a check made
	// right after REPLICATE could still count it as a master.
	return wait("state ok with every replica known", func(n *nodeInfo) bool {
		if n.state != "ok" || n.assigned != 16384 {
			return false
		}
		masters, replicas, err := roles(ctx, n)
		return err == nil && masters == nm && replicas == len(nodes)-nm
	})
}
