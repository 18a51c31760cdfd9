//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infractl/infractl/internal/report"
)

// checkout copies a fixture into a folder of its own, as a user's checkout
// (fixtures are never modified; the run writes logs and reports there).
// The folder is under /tmp with the same path inside containers.
func checkout(t *testing.T, fixtureName string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "infractl-checkout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.CopyFS(dir, os.DirFS(fixture(fixtureName))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// inImage runs infractl's image as the README documents it: the engine's
// socket and the checkout mounted at the same path, the checkout as the
// working folder.
func inImage(t *testing.T, dir string, env []string, entrypoint string, args ...string) (int, string, string) {
	t.Helper()
	run := []string{"run", "--rm", "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", dir + ":" + dir, "-w", dir}
	for _, e := range env {
		run = append(run, "-e", e)
	}
	if entrypoint != "" {
		run = append(run, "--entrypoint", entrypoint)
	}
	run = append(append(run, "infractl/infractl:latest"), args...)
	cmd := exec.Command("docker", run...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestE2EInfractlImage: the infractl image runs up, verify --audit and
// down of a fixture with secrets and declared buckets through the mounted
// socket, with the same exit codes (the audit dials the backends through
// the helper, as the image's network is not the project's).
func TestE2EInfractlImage(t *testing.T) {
	dir := checkout(t, "e2e-remote")
	const p = "ship-image"
	t.Cleanup(func() { _ = exec.Command(infractl, "down", "-v", "-p", p).Run() })
	code, out, errOut := inImage(t, dir, nil, "", "up", "-p", p, "--format", "json")
	if code != 0 {
		t.Fatalf("up in the image: exit %d\n%s", code, errOut)
	}
	if v := verdict(t, out); !v.OK {
		t.Fatalf("up in the image: %+v", v.Services)
	}
	code, out, errOut = inImage(t, dir, nil, "", "verify", "--audit", "-p", p, "--format", "json")
	if code != 0 {
		t.Fatalf("verify --audit in the image: exit %d\n%s", code, errOut)
	}
	audited := false
	for _, c := range verdict(t, out).Checks {
		if c.ID == report.ReqAudit && c.Status == report.Pass && len(c.Results) > 0 {
			audited = true
		}
	}
	if !audited {
		t.Errorf("verify --audit in the image did not pass the audit:\n%s", out)
	}
	if code, _, errOut = inImage(t, dir, nil, "", "down", "-v", "-p", p); code != 0 {
		t.Fatalf("down in the image: exit %d\n%s", code, errOut)
	}
	if c, n, v := projectResources(t, p); c+n+v != 0 {
		t.Errorf("down in the image left %d containers, %d networks, %d volumes", c, n, v)
	}
	if code, _, errOut = inImage(t, dir, nil, "", "up", "--no-such-flag"); code != 2 {
		t.Errorf("a usage error in the image: exit %d, want 2\n%s", code, errOut)
	}
}

// TestE2EGitHubActionsRecipe runs every shell step of
// docs/ci/github-actions.yml as written, in order, in a checkout of a
// fixture, with the workflow's and the job's environment. The one step not
// run is "Install infractl" (go install ...@latest needs the published
// module): the binary under test is on PATH instead. Steps that use an
// action (checkout, upload) are GitHub's, not shell.
func TestE2EGitHubActionsRecipe(t *testing.T) {
	var wf struct {
		Env  map[string]string
		Jobs map[string]struct {
			Env   map[string]string
			Steps []struct {
				Name, Run, Uses string
				Env             map[string]string
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(repo, "docs", "ci", "github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	dir := checkout(t, "e2e-remote")
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Cleanup(func() {
		cmd := exec.Command(infractl, "down", "-v", "-p", "ci")
		cmd.Dir = dir
		_ = cmd.Run()
	})
	ran := 0
	for name, job := range wf.Jobs {
		for _, st := range job.Steps {
			if st.Run == "" || strings.HasPrefix(st.Name, "Install infractl") {
				continue
			}
			cmd := exec.Command("bash", "-eo", "pipefail", "-c", st.Run)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(infractl)+":"+os.Getenv("PATH"), "GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY="+summary, "NO_COLOR=1")
			for _, env := range []map[string]string{wf.Env, job.Env, st.Env} {
				for k, v := range env {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("job %s, step %q: %v\n%s", name, st.Name, err, out)
			}
			ran++
		}
	}
	if ran < 4 {
		t.Fatalf("ran %d shell steps, want lint, up, verify and down", ran)
	}
	for _, f := range []string{"infractl-lint.sarif", "infractl-up.xml", "infractl-up.json", "infractl-verify.xml"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("the recipe did not write %s: %v", f, err)
		}
	}
	var sarif struct{ Version string }
	if b, err := os.ReadFile(filepath.Join(dir, "infractl-lint.sarif")); err != nil || json.Unmarshal(b, &sarif) != nil || sarif.Version != "2.1.0" {
		t.Errorf("infractl-lint.sarif is not SARIF 2.1.0: %v", err)
	}
}

// TestE2EGitLabRecipe runs the script and after_script lines of
// docs/ci/gitlab-ci.yml as written, each in infractl's image as the job
// does (entrypoint "", the checkout as the working folder), with the job's
// variables. The docker:dind service is the one thing replaced: the job
// reaches this machine's engine through its mounted socket instead of
// DOCKER_HOST=tcp://docker:2375.
func TestE2EGitLabRecipe(t *testing.T) {
	var ci map[string]struct {
		Variables   map[string]string
		Script      []string
		AfterScript []string `yaml:"after_script"`
		Image       struct{ Name string }
	}
	b, err := os.ReadFile(filepath.Join(repo, "docs", "ci", "gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &ci); err != nil {
		t.Fatal(err)
	}
	job, ok := ci["infractl"]
	if !ok || job.Image.Name != "infractl/infractl:latest" || len(job.Script) < 3 {
		t.Fatalf("docs/ci/gitlab-ci.yml: job infractl in infractl's image with its script, got %+v", job)
	}
	dir := checkout(t, "e2e-remote")
	var env []string
	for k, v := range job.Variables {
		if k != "DOCKER_HOST" && k != "DOCKER_TLS_CERTDIR" {
			env = append(env, k+"="+v)
		}
	}
	t.Cleanup(func() { _, _, _ = inImage(t, dir, env, "", "down", "-v") })
	for _, line := range append(job.Script, job.AfterScript...) {
		// entrypoint "" is the job's: GitLab runs the line with the
		// image's shell.
		if code, out, errOut := inImage(t, dir, env, "sh", "-c", line); code != 0 {
			t.Fatalf("%q: exit %d\n%s%s", line, code, out, errOut)
		}
	}
	for _, f := range []string{"infractl-lint.sarif", "infractl-up.xml", "infractl-up.json", "infractl-verify.xml"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("the recipe did not write %s: %v", f, err)
		}
	}
	if c, n, v := projectResources(t, "ci"); c+n+v != 0 {
		t.Errorf("after_script left %d containers, %d networks, %d volumes", c, n, v)
	}
}

// TestE2EReleaseBuildsEveryPlatform: make release writes six static
// binaries (linux, darwin, windows on amd64 and arm64), their archives and
// SHA256SUMS; the linux/amd64 one runs version.
func TestE2EReleaseBuildsEveryPlatform(t *testing.T) {
	dist := t.TempDir()
	cmd := exec.Command("make", "release", "VERSION=v9.9.9-e2e")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION=v9.9.9-e2e")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	for _, tt := range []struct{ file, archive, want string }{
		{"infractl_linux_amd64", "infractl_9.9.9-e2e_linux_amd64.tar.gz", "ELF 64-bit LSB executable, x86-64"},
		{"infractl_linux_arm64", "infractl_9.9.9-e2e_linux_arm64.tar.gz", "ELF 64-bit LSB executable, ARM aarch64"},
		{"infractl_darwin_amd64", "infractl_9.9.9-e2e_darwin_amd64.tar.gz", "Mach-O 64-bit x86_64 executable"},
		{"infractl_darwin_arm64", "infractl_9.9.9-e2e_darwin_arm64.tar.gz", "Mach-O 64-bit arm64 executable"},
		{"infractl_windows_amd64.exe", "infractl_9.9.9-e2e_windows_amd64.zip", "PE32+ executable (console) x86-64"},
		{"infractl_windows_arm64.exe", "infractl_9.9.9-e2e_windows_arm64.zip", "PE32+ executable (console) Aarch64"},
	} {
		path := filepath.Join(dist, tt.file)
		out, err := exec.Command("file", path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: %s (%v), want %q", tt.file, out, err, tt.want)
		}
		if strings.Contains(tt.want, "ELF") && !strings.Contains(string(out), "statically linked") {
			t.Errorf("%s is not static: %s", tt.file, out)
		}
		// No cgo on any platform: the build settings say so.
		if mod, err := exec.Command("go", "version", "-m", path).CombinedOutput(); err != nil || !strings.Contains(string(mod), "CGO_ENABLED=0") {
			t.Errorf("%s: not built with CGO_ENABLED=0:\n%s", tt.file, mod)
		}
		if _, err := os.Stat(filepath.Join(dist, tt.archive)); err != nil {
			t.Errorf("archive %s: %v", tt.archive, err)
		}
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = dist
	if out, err := check.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 12 {
		t.Errorf("SHA256SUMS: %v\n%s", err, out)
	}
	if out, err := exec.Command(filepath.Join(dist, "infractl_linux_amd64"), "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "infractl v9.9.9-e2e\n") {
		t.Errorf("version: %v\n%s", err, out)
	}
}

// TestE2EGoInstallFromACleanModuleCache: go install ./cmd/infractl into an
// empty GOBIN with an empty module cache (everything from the module
// proxy), then version prints the version from the build info (the
// module's VCS pseudo-version and revision: no -X flags). Go's default
// -buildvcs=auto is set explicitly, whatever the machine's go env says.
func TestE2EGoInstallFromACleanModuleCache(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command("go", "install", "./cmd/infractl")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(tmp, "bin"), "GOMODCACHE="+filepath.Join(tmp, "mod"), "GOFLAGS=-buildvcs=auto -modcacherw")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(tmp, "bin", "infractl"), "version").CombinedOutput()
	rev, _ := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil || !strings.HasPrefix(string(out), "infractl v") || !strings.Contains(string(out), "commit:      "+strings.TrimSpace(string(rev))) {
		t.Errorf("version after go install: %v\n%s\nwant a pseudo-version and commit %s", err, out, rev)
	}
}
