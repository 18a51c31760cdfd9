package report

import (
	"fmt"
	"io"
	"strings"
)

// Locator finds where a service is declared, for annotations.
type Locator func(service string) (file string, line int)

// WriteGitHubAnnotations writes one ::error workflow command per failed
// check result, pointing at the service's compose file and line.
func WriteGitHubAnnotations(w io.Writer, v Verdict, locate Locator) error {
	for _, c := range v.Checks {
		for _, r := range c.Results {
			if r.Status != Fail {
				continue
			}
			file, line := locate(r.Service)
			msg := ghData(fmt.Sprintf("%s: %s", r.Service, r.Message))
			title := ghProp(c.ID + " " + c.Title)
			if _, err := fmt.Fprintf(w, "::error file=%s,line=%d,title=%s::%s\n", ghProp(file), line, title, msg); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteMarkdownSummary writes the verdict as Markdown for
// $GITHUB_STEP_SUMMARY.
func WriteMarkdownSummary(w io.Writer, v Verdict) error {
	bw := &errWriter{w: w}
	status := "passed"
	if !v.OK {
		status = "failed"
	}
	bw.printf("### infractl %s `%s`: %s\n\n", v.Command, v.Project, status)
	bw.printf("| check | status | detail |\n| --- | --- | --- |\n")
	for _, c := range v.Checks {
		detail := c.Reason
		var fails []string
		for _, r := range c.Results {
			if r.Status == Fail {
				fails = append(fails, fmt.Sprintf("`%s`: %s", r.Service, r.Message))
			}
		}
		if len(fails) > 0 {
			detail = strings.Join(fails, "<br>")
		}
		// A table row is one line: escape cell separators, break lines
		// with <br>.
		cell := strings.NewReplacer("|", "\\|", "\r\n", "<br>", "\n", "<br>").Replace(detail)
		bw.printf("| %s %s | %s | %s |\n", c.ID, c.Title, c.Status, cell)
	}
	bw.printf("\n")
	return bw.err
}
