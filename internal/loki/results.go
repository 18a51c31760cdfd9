package loki

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/infractl/infractl/internal/report"
)

// Result is the line pushed for one init step (a service or a pre_start
// hook), labelled kind="result".
type Result struct {
	Run               string   `json:"run"`
	Command           string   `json:"command"`
	Service           string   `json:"service"`
	Container         string   `json:"container,omitempty"`
	ContainerID       string   `json:"containerId,omitempty"`
	RoleObserved      bool     `json:"roleObserved,omitempty"`
	Outcome           string   `json:"outcome"`
	ExitCode          *int     `json:"exitCode"`
	Retries           int      `json:"retries,omitempty"`
	DurationSeconds   float64  `json:"durationSeconds"`
	AfterReadySeconds float64  `json:"afterReadySeconds"`
	NFR               string   `json:"nfr"` // pass, fail or "" (did not finish)
	Requirements      []string `json:"requirements"`
}

// RunLine is the line pushed for the whole run (the verdict).
type RunLine struct {
	Run         string   `json:"run"`
	Command     string   `json:"command"`
	Project     string   `json:"project"`
	OK          bool     `json:"ok"`
	Interrupted bool     `json:"interrupted,omitempty"`
	WallSeconds float64  `json:"wallSeconds"`
	Inits       int      `json:"inits"`
	Failed      []string `json:"failed,omitempty"`
	Checks      []string `json:"checks"` // "ID status"
}

// Streams is what a run pushes: one result line per init step, at its
// exit's engine time; one line for the run at end; and each init's log
// lines (as redacted in the verdict), from its engine start time on. The
// labels are the Docker Loki driver's plus source and kind, nothing of
// high cardinality (the run ID is in the lines).
func Streams(v report.Verdict, run string, end time.Time) []Stream {
	var out []Stream
	runLine := RunLine{Run: run, Command: v.Command, Project: v.Project, OK: v.OK, Interrupted: v.Interrupted, WallSeconds: v.WallSeconds}
	for _, c := range v.Checks {
		runLine.Checks = append(runLine.Checks, c.ID+" "+string(c.Status))
	}
	for _, s := range v.Services {
		if s.Role != "init" {
			continue
		}
		runLine.Inits++
		if s.Outcome != "ok" {
			runLine.Failed = append(runLine.Failed, s.Name)
		}
		r := Result{Run: run, Command: v.Command, Service: s.Name, Container: s.Container, ContainerID: s.ContainerID,
			RoleObserved: s.RoleObserved, Outcome: s.Outcome, ExitCode: s.ExitCode, Retries: s.Retries,
			DurationSeconds: s.RunSeconds, AfterReadySeconds: s.AfterReadySeconds,
			Requirements: []string{report.ReqInitExit, report.ReqNFR60}}
		if s.ExitCode != nil {
			r.NFR = "pass"
			if s.Slow {
				r.NFR = "fail"
			}
		}
		at := s.FinishedAt
		if at.IsZero() {
			at = end
		}
		line, _ := json.Marshal(r)
		labels := map[string]string{LabelProject: v.Project, LabelService: s.Name, LabelSource: Source, LabelKind: KindResult}
		if s.Container != "" {
			labels[LabelContainer] = s.Container
		}
		out = append(out, Stream{Labels: labels, Entries: []Entry{{Time: at, Line: string(line)}}})
		if s.Log != "" && !s.StartedAt.IsZero() {
			logLabels := map[string]string{LabelProject: v.Project, LabelService: s.Name, LabelSource: Source, LabelKind: KindLog}
			if s.Container != "" {
				logLabels[LabelContainer] = s.Container
			}
			var es []Entry
			for i, l := range strings.Split(strings.TrimRight(s.Log, "\n"), "\n") {
				// The engine's start time, a microsecond apart per line:
				// ordered, and within the container's run.
				es = append(es, Entry{Time: s.StartedAt.Add(time.Duration(i) * time.Microsecond), Line: l})
			}
			out = append(out, Stream{Labels: logLabels, Entries: es})
		}
	}
	line, _ := json.Marshal(runLine)
	out = append(out, Stream{Labels: map[string]string{LabelProject: v.Project, LabelSource: Source, LabelKind: KindResult},
		Entries: []Entry{{Time: end, Line: string(line)}}})
	return out
}

// ProvisionLine is the line `infractl provision` pushes for one service.
type ProvisionLine struct {
	Run          string   `json:"run"`
	Command      string   `json:"command"` // provision or provision --check
	Service      string   `json:"service"`
	OK           bool     `json:"ok"`
	Items        []any    `json:"items"`
	Requirements []string `json:"requirements"`
}

// ProvisionStreams is what `infractl provision` pushes: one result line
// per service it provisioned (or checked), labelled like up's.
func ProvisionStreams(project string, lines []ProvisionLine, at time.Time) []Stream {
	var out []Stream
	for _, l := range lines {
		b, _ := json.Marshal(l)
		out = append(out, Stream{
			Labels:  map[string]string{LabelProject: project, LabelService: l.Service, LabelSource: Source, LabelKind: KindResult},
			Entries: []Entry{{Time: at, Line: string(b)}},
		})
	}
	return out
}
