package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/infractl/infractl/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"infractl": cli.Main})
}

// TestScripts runs the CLI end to end from testdata/script/*.txtar with golden
// output. UPDATE_GOLDEN=1 rewrites the golden sections.
func TestScripts(t *testing.T) {
	fixtures, err := filepath.Abs(filepath.Join("..", "..", "testdata", "compose"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: os.Getenv("UPDATE_GOLDEN") != "",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			// Fixtures are copied, never modified in place, and the copy
			// keeps every path in the output relative and stable.
			return os.CopyFS(filepath.Join(env.WorkDir, "compose"), os.DirFS(fixtures))
		},
	})
}
