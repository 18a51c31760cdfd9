package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/infractl/infractl/internal/lint"
)

// SchemaVersion is the version of the lint JSON document.
const LintSchemaVersion = 1

func relTo(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// WriteText writes findings grouped by file:
// file:line:col  ID name  severity  service  message  (fix: ...).
func WriteLintText(w io.Writer, base string, fs []lint.Finding, st Styles) error {
	var b strings.Builder
	last := ""
	counts := map[lint.Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
		file := relTo(base, f.File)
		if file != last {
			if last != "" {
				b.WriteString("\n")
			}
			b.WriteString(st.Title.Render(file) + "\n")
			last = file
		}
		sev := st.Dim
		switch f.Severity {
		case lint.Error:
			sev = st.Fail
		case lint.Warning:
			sev = st.Warn
		}
		fmt.Fprintf(&b, "  %s:%d:%d  %s %s  %s  %s  %s  (fix: %s)\n", file, f.Line, f.Column, f.Rule, f.Name,
			sev.Render(string(f.Severity)), f.Service, f.Message, f.Fix)
	}
	if len(fs) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d errors, %d warnings, %d infos\n", counts[lint.Error], counts[lint.Warning], counts[lint.Info])
	_, err := io.WriteString(w, b.String())
	return err
}

// LintDocument is lint's JSON output.
type LintDocument struct {
	SchemaVersion int            `json:"schemaVersion"`
	Project       string         `json:"project"`
	Findings      []lint.Finding `json:"findings"`
	Rules         []lint.Rule    `json:"rules"`
}

// WriteLintJSON writes findings as JSON, file paths relative to base.
func WriteLintJSON(w io.Writer, project, base string, fs []lint.Finding) error {
	doc := LintDocument{SchemaVersion: LintSchemaVersion, Project: project, Findings: []lint.Finding{}, Rules: lint.Rules}
	for _, f := range fs {
		f.File = relTo(base, f.File)
		doc.Findings = append(doc.Findings, f)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteLintGitHub writes GitHub Actions workflow annotations.
func WriteLintGitHub(w io.Writer, base string, fs []lint.Finding) error {
	for _, f := range fs {
		level := "error"
		switch f.Severity {
		case lint.Warning:
			level = "warning"
		case lint.Info:
			level = "notice"
		}
		msg := ghData(fmt.Sprintf("%s (fix: %s)", f.Message, f.Fix))
		if _, err := fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", level,
			ghProp(relTo(base, f.File)), f.Line, f.Column, ghProp(f.Rule+" "+f.Name), msg); err != nil {
			return err
		}
	}
	return nil
}

// ghData escapes a GitHub workflow command's message; ghProp one of its
// properties (file, title). The only escaping of workflow commands.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// SARIF 2.1.0, as GitHub code scanning reads it.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration map[string]string `json:"defaultConfiguration"`
	Properties           map[string]any    `json:"properties"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

func sarifLevel(s lint.Severity) string {
	switch s {
	case lint.Error:
		return "error"
	case lint.Warning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes findings as SARIF 2.1.0, artifact URIs relative to the
// project root (%SRCROOT%).
func WriteLintSARIF(w io.Writer, base, version string, fs []lint.Finding) error {
	driver := sarifDriver{Name: "infractl", InformationURI: "https://github.com/infractl/infractl", Version: version}
	index := map[string]int{}
	for i, r := range lint.Rules {
		index[r.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: r.ID, Name: r.Name,
			ShortDescription:     sarifText{r.Short},
			FullDescription:      sarifText{r.Full},
			Help:                 sarifText{fmt.Sprintf("%s Fix: %s. Requirement: %s.", r.Full, r.Fix, r.Requirement)},
			DefaultConfiguration: map[string]string{"level": sarifLevel(r.Severity)},
			Properties:           map[string]any{"requirement": r.Requirement, "tags": []string{"infrastructure", "compose"}},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, f := range fs {
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message: sarifText{fmt.Sprintf("%s: %s (fix: %s)", f.Service, f.Message, f.Fix)},
		}
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(relTo(base, f.File)), URIBaseID: "%SRCROOT%"}}}
		if f.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Column}
		}
		res.Locations = []sarifLocation{loc}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}
