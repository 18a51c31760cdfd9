package dockerapi

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ProjectContainers lists every container of a project, whoever created it
// (docker compose or infractl), sorted by service name.
func ProjectContainers(ctx context.Context, cli *client.Client, project string) ([]container.Summary, error) {
	f := client.Filters{}
	f.Add("label", LabelProject+"="+project)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %v: %w", err, ErrEngine)
	}
	items := res.Items
	sort.Slice(items, func(i, j int) bool {
		return items[i].Labels[LabelService] < items[j].Labels[LabelService] ||
			items[i].Labels[LabelService] == items[j].Labels[LabelService] && items[i].Created < items[j].Created
	})
	return items, nil
}

// DownOptions select what Down removes.
type DownOptions struct {
	// Services are the project's services (enabled and disabled); only
	// their containers are removed unless RemoveOrphans is set.
	Services []string
	// Volumes also removes the project's named volumes.
	Volumes bool
	// RemoveOrphans removes containers of services the project no longer
	// defines.
	RemoveOrphans bool
}

// DownReport says what Down removed, sorted.
type DownReport struct {
	Containers, Networks, Volumes, Kept []string
}

// Down removes a project's containers and networks (and volumes when
// asked), found by compose's project label.
func Down(ctx context.Context, cli *client.Client, project string, opts DownOptions) (DownReport, error) {
	var rep DownReport
	known := map[string]bool{}
	for _, s := range opts.Services {
		known[s] = true
	}
	cs, err := ProjectContainers(ctx, cli, project)
	if err != nil {
		return rep, err
	}
	for _, c := range cs {
		name := strings.TrimPrefix(firstName(c.Names), "/")
		if !known[c.Labels[LabelService]] && !opts.RemoveOrphans {
			rep.Kept = append(rep.Kept, name)
			continue
		}
		timeout := 10
		if c.State == container.StateRunning {
			_, _ = cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: &timeout})
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, fmt.Errorf("remove container %s: %v: %w", name, err, ErrEngine)
		}
		rep.Containers = append(rep.Containers, name)
	}
	if len(rep.Kept) > 0 {
		// Their networks stay in use.
		return rep, nil
	}
	f := client.Filters{}
	f.Add("label", LabelProject+"="+project)
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return rep, fmt.Errorf("list networks: %v: %w", err, ErrEngine)
	}
	for _, n := range nets.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, fmt.Errorf("remove network %s: %v: %w", n.Name, err, ErrEngine)
		}
		rep.Networks = append(rep.Networks, n.Name)
	}
	if opts.Volumes {
		vols, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		if err != nil {
			return rep, fmt.Errorf("list volumes: %v: %w", err, ErrEngine)
		}
		for _, v := range vols.Items {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return rep, fmt.Errorf("remove volume %s: %v: %w", v.Name, err, ErrEngine)
			}
			rep.Volumes = append(rep.Volumes, v.Name)
		}
	}
	sort.Strings(rep.Containers)
	sort.Strings(rep.Networks)
	sort.Strings(rep.Volumes)
	sort.Strings(rep.Kept)
	return rep, nil
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
