package compose

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Discovery of one-shot inits in real stacks. Real stacks rarely write the
// textbook init (restart "no", gated on a healthy backend): they leave
// restart unset (compose's default is "no"), retry with on-failure, use the
// short depends_on form, or have nothing wait on the init at all. What
// tells a one-shot is evidence, and discovery is conservative: a service
// that shows any sign of running for good is never an init.

// oneShotWords are words of a name, command, entrypoint or image that say
// "runs once": migrations, setup, creation of resources, key generation.
var oneShotWords = []string{
	"init", "setup", "migrate", "migrates", "migration", "migrations", "migrator",
	"seed", "seeder", "bootstrap", "provision", "provisioner", "create", "createdb",
	"generate", "genkeys", "import", "mb", "flyway", "liquibase",
}

// oneShotNamePrefixes are run together in names (createbuckets,
// initialwarehouse, migrate_db).
var oneShotNamePrefixes = []string{"init", "setup", "migrat", "seed", "bootstrap", "provision", "create"}

// longWords are words of a command that say "runs for good".
var longWords = []string{
	"serve", "server", "start", "run", "daemon", "agent", "worker", "watch",
	"listen", "infinity", "forever", "supervisord",
}

// words splits s into lower-case words at anything not a letter or digit.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// oneShot judges a service that nothing waits on to complete: it is an
// init when nothing says it runs for good and something says it runs once.
// The reason names the evidence.
func oneShot(s *Service) (string, bool) {
	sc := s.Config
	rp := Restart(sc)
	var policy string
	switch rp.Key {
	case "":
		policy = `restart unset: compose's default "no"`
	case "restart":
		policy = fmt.Sprintf("restart: %q", sc.Restart)
	default:
		policy = fmt.Sprintf("%s: %q", rp.Key, rp.String())
	}
	switch {
	case !rp.MayStayExited():
		return "", false
	case HasHealthcheck(sc), len(sc.Ports) > 0, sc.Tty, sc.StdinOpen:
		return "", false
	}
	args := append(slices.Clone([]string(sc.Entrypoint)), sc.Command...)
	// A flag's name says what runs only when it is one word ("--create");
	// "--bootstrap-server" names a setting, not an action.
	cw, flags := commandWords(args)
	if long := firstLong(strings.Join(args, " "), cw); long != "" {
		return "", false
	}
	var evidence []string
	if w := nameEvidence(s.Name); w != "" {
		evidence = append(evidence, fmt.Sprintf("its name says %q", w))
	}
	if w := firstOf(cw, oneShotWords); w != "" {
		evidence = append(evidence, fmt.Sprintf("its command runs %q", w))
	} else if w := firstOf(flags, oneShotWords); w != "" {
		evidence = append(evidence, fmt.Sprintf("its command runs with --%s", w))
	}
	if w := imageEvidence(sc.Image); w != "" {
		evidence = append(evidence, fmt.Sprintf("its image is %s", w))
	}
	var healthy []string
	for _, e := range s.Deps {
		if e.Condition == ConditionHealthy {
			healthy = append(healthy, e.To)
		}
	}
	head := fmt.Sprintf("one-shot (%s, no healthcheck, no ports)", policy)
	if rp.Mode == RestartNo && rp.Key != "" && len(healthy) > 0 {
		// The textbook init: an explicit "no", gated on healthy targets.
		return head + " gated on " + quoteList(healthy) + " being healthy", true
	}
	if len(evidence) == 0 {
		return "", false
	}
	return head + ": " + strings.Join(evidence, "; "), true
}

// firstLong is the first sign in a command that it runs for good.
func firstLong(command string, cw []string) string {
	lc := strings.ToLower(command)
	for _, s := range []string{"tail -f", "sleep infinity", "while true", "while :", " & "} {
		if strings.Contains(lc, s) {
			return s
		}
	}
	return firstOf(cw, longWords)
}

// commandWords are the words of a command's arguments, shell comments left
// out (a comment's "on first run" says nothing of what runs), and whether
// each came from a flag.
func commandWords(args []string) (ws, flagWords []string) {
	for _, arg := range args {
		for _, line := range strings.Split(arg, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, f := range strings.Fields(line) {
				f = strings.TrimLeft(f, `"'(`)
				if strings.HasPrefix(f, "-") {
					flagWords = append(flagWords, strings.Join(words(f), "-"))
					continue
				}
				switch {
				case strings.Contains(f, "://"):
					// A URL's host and path ("http://server/run") say
					// nothing of how long the command runs.
					continue
				case strings.Contains(f, "/"):
					// A path: only its last element names a program or a
					// file ("/run/secrets/db_password" is not "run").
					f = f[strings.LastIndex(f, "/")+1:]
				}
				ws = append(ws, words(f)...)
			}
		}
	}
	return ws, flagWords
}

func firstOf(ws, set []string) string {
	for _, w := range ws {
		if slices.Contains(set, w) {
			return w
		}
	}
	return ""
}

func nameEvidence(name string) string {
	if w := firstOf(words(name), oneShotWords); w != "" {
		return w
	}
	for _, w := range words(name) {
		for _, p := range oneShotNamePrefixes {
			if strings.HasPrefix(w, p) {
				return w
			}
		}
	}
	return ""
}

// imageEvidence: images that exist to run once (the MinIO client, schema
// migration tools).
func imageEvidence(image string) string {
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	repo, _, _ = strings.Cut(repo, "@")
	switch base := path.Base(repo); base {
	case "mc", "flyway", "liquibase", "migrate", "aws-cli":
		return repo
	}
	return ""
}
