package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// hookResult is one run of the hooks stack: the time from the service's
// container being created to its start, which its three pre_start hooks
// (each a runner container) fill.
type hookResult struct {
	Tool         string  `json:"tool"`
	Run          int     `json:"run"`
	CreateToRun  float64 `json:"createToStartSeconds"`
	WallSeconds  float64 `json:"wallSeconds"`
	HookRunnersN int     `json:"hookRunners"`
}

// hooksStack is a backend and a service with three pre_start hooks.
func hooksStack(dir string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-hooks\nservices:\n")
	backend(&b, "backend")
	fmt.Fprintf(&b, "  app:\n    image: infractl/toolbox:latest\n    command: [\"sleep\", \"3600\"]\n    stop_signal: SIGKILL\n")
	fmt.Fprintf(&b, "    depends_on:\n      backend: {condition: service_healthy}\n    pre_start:\n")
	for i := range 3 {
		fmt.Fprintf(&b, "      - command: [\"sh\", \"-c\", \"echo hook %d\"]\n", i)
	}
	return write(dir, "hooks", b.String())
}

// hooks runs the hooks stack with each tool, alternating, and measures
// from the engine's events: the service's create event to its start event
// (hook runners, labelled com.docker.compose.hook, are counted apart).
func hooks(ctx context.Context, cli *client.Client, dir string, runs int, tools []tool, down func(file, p string)) ([]hookResult, error) {
	file, err := hooksStack(dir)
	if err != nil {
		return nil, err
	}
	var out []hookResult
	for i := range runs {
		order := slices.Clone(tools)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			p := "bench-hooks"
			down(file, p)
			f := client.Filters{}
			f.Add("type", "container")
			f.Add("label", labelProject+"="+p)
			ectx, cancel := context.WithCancel(ctx)
			res := cli.Events(ectx, client.EventsListOptions{Filters: f})
			var created, started time.Time
			runners := map[string]bool{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case m := <-res.Messages:
						a := m.Actor.Attributes
						if a[labelService] != "app" {
							continue
						}
						if a["com.docker.compose.hook"] != "" {
							runners[m.Actor.ID] = true
							continue
						}
						at := time.Unix(0, m.TimeNano)
						switch string(m.Action) {
						case "create":
							created = at
						case "start":
							if started.IsZero() {
								started = at
							}
						}
					case <-res.Err:
						return
					case <-ectx.Done():
						return
					}
				}
			}()
			time.Sleep(100 * time.Millisecond) // the subscription is live
			wall, _, err := t.up(ctx, file, p, filepath.Join(os.TempDir(), "initbench-hooks.jsonl"))
			time.Sleep(700 * time.Millisecond) // late events
			cancel()
			<-done
			r := hookResult{Tool: t.name, Run: i + 1, WallSeconds: wall.Seconds()}
			down(file, p)
			if err != nil {
				return nil, fmt.Errorf("%s on the hooks stack: %w", t.name, err)
			}
			if created.IsZero() || started.IsZero() {
				return nil, fmt.Errorf("%s on the hooks stack: no create or start event of app", t.name)
			}
			r.CreateToRun, r.HookRunnersN = started.Sub(created).Seconds(), len(runners)
			out = append(out, r)
			fmt.Fprintf(os.Stderr, "hooks        %-17s run %d: app created -> started %6.2f s (%d hook runners)  wall %6.2f s\n", t.name, i+1, r.CreateToRun, r.HookRunnersN, r.WallSeconds)
		}
	}
	return out, nil
}
