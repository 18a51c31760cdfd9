package dockerapi

import (
	"context"
	"sort"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// Down removes a project's containers and networks (and volumes when
// asked), found by compose's project label: only what carries it.
func (e *Engine) Down(ctx context.Context, project string, opts engine.DownOptions) (engine.DownReport, error) {
	var rep engine.DownReport
	known := map[string]bool{}
	for _, s := range opts.Services {
		known[s] = true
	}
	cs, err := e.Observe(project).Containers(ctx)
	if err != nil {
		return rep, err
	}
	for _, c := range cs {
		svc := c.Service
		if s, _, ok := compose.ParseHookName(svc); ok {
			svc = s // a hook's runner goes with its service
		}
		orphan := opts.Services != nil && !known[svc] && !c.OneOff
		if opts.OnlyOrphans && !orphan || opts.Services != nil && !known[svc] && !opts.RemoveOrphans && !opts.OnlyOrphans {
			rep.Kept = append(rep.Kept, c.Name)
			continue
		}
		timeout := 10
		if opts.StopTimeout != nil {
			timeout = *opts.StopTimeout
		}
		if c.State.Running {
			_, _ = e.cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: &timeout})
		}
		if _, err := e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, engineErr("remove container "+c.Name, err)
		}
		rep.Containers = append(rep.Containers, c.Name)
	}
	if len(rep.Kept) > 0 || opts.OnlyOrphans {
		// Their networks stay in use.
		sortReport(&rep)
		return rep, nil
	}
	f := client.Filters{}
	f.Add("label", LabelProject+"="+project)
	nets, err := e.cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return rep, engineErr("list networks", err)
	}
	for _, n := range nets.Items {
		if !engine.Owned(n.Labels, project) {
			continue
		}
		if _, err := e.cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return rep, engineErr("remove network "+n.Name, err)
		}
		rep.Networks = append(rep.Networks, n.Name)
	}
	if opts.Volumes {
		vols, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		if err != nil {
			return rep, engineErr("list volumes", err)
		}
		for _, v := range vols.Items {
			if !engine.Owned(v.Labels, project) {
				continue
			}
			if _, err := e.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return rep, engineErr("remove volume "+v.Name, err)
			}
			rep.Volumes = append(rep.Volumes, v.Name)
		}
	}
	sortReport(&rep)
	return rep, nil
}

func sortReport(rep *engine.DownReport) {
	sort.Strings(rep.Containers)
	sort.Strings(rep.Networks)
	sort.Strings(rep.Volumes)
	sort.Strings(rep.Kept)
}
