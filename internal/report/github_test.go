package report

import (
	"strings"
	"testing"
)

func githubVerdict() Verdict {
	v := Verdict{Command: "verify", Project: "demo", Checks: []Check{
		{ID: ReqInitExit, Title: "every init service exited 0", Results: []CheckResult{
			{Service: "kafka-init", Status: Pass, Message: "exited 0"},
			{Service: "minio-init", Status: Fail, Message: "failed (exit 3): 100% of\nbuckets | missing"},
		}},
		{ID: ReqNFR60, Title: "every init finished within 60 s, of its targets: ready", Status: Skip, Reason: "no init ran to completion"},
	}}
	v.Finish()
	return v
}

func TestGitHubAnnotationsOnePerFailureAtTheServiceLine(t *testing.T) {
	var b strings.Builder
	locate := func(service string) (string, int) {
		if service != "minio-init" {
			t.Errorf("located %q, only the failed service should be", service)
		}
		return "infra/04-data/minio/docker-compose.yml", 12
	}
	if err := WriteGitHubAnnotations(&b, githubVerdict(), locate); err != nil {
		t.Fatal(err)
	}
	want := "::error file=infra/04-data/minio/docker-compose.yml,line=12,title=" + ReqInitExit +
		" every init service exited 0::minio-init: failed (exit 3): 100%25 of%0Abuckets | missing\n"
	if b.String() != want {
		t.Errorf("annotations:\n got %q\nwant %q", b.String(), want)
	}
}

func TestGitHubAnnotationTitleEscapesPropertySeparators(t *testing.T) {
	v := githubVerdict()
	v.Checks[1].Status, v.Checks[1].Results = Fail, []CheckResult{{Service: "kafka-init", Status: Fail, Message: "slow"}}
	var b strings.Builder
	if err := WriteGitHubAnnotations(&b, v, func(string) (string, int) { return "compose.yaml", 3 }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "title="+ReqNFR60+" every init finished within 60 s%2C of its targets%3A ready::kafka-init: slow\n") {
		t.Errorf("title not escaped:\n%s", b.String())
	}
}

func TestGitHubAnnotationsNoneWhenEverythingPassed(t *testing.T) {
	v := githubVerdict()
	v.Checks[0].Results[1] = CheckResult{Service: "minio-init", Status: Pass, Message: "exited 0"}
	var b strings.Builder
	if err := WriteGitHubAnnotations(&b, v, func(string) (string, int) { return "x", 1 }); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Errorf("annotations for a passing verdict: %q", b.String())
	}
}

func TestMarkdownSummaryRowPerCheckWithFailuresAndReasons(t *testing.T) {
	var b strings.Builder
	if err := WriteMarkdownSummary(&b, githubVerdict()); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"### infractl verify `demo`: failed\n",
		"| " + ReqInitExit + " every init service exited 0 | fail | `minio-init`: failed (exit 3): 100% of<br>buckets \\| missing |\n",
		"| " + ReqNFR60 + " every init finished within 60 s, of its targets: ready | skipped | no init ran to completion |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}
