// Package buildinfo reports the version of infractl and of the libraries
// whose behaviour it mirrors (compose-go).
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version and Commit are set by the linker (-X) by make build and make
// release; `go install github.com/infractl/infractl/cmd/infractl@VERSION`
// (or go install in a checkout) leaves them unset, and the build info's
// module version and VCS revision are used.
var (
	Version = "dev"
	Commit  = ""
)

// Info is what `infractl version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Go        string `json:"go"`
	ComposeGo string `json:"composeGo"`
	MobyAPI   string `json:"mobyClient"`
}

// Get returns the build information, reading module versions from the binary.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if i.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/compose-spec/compose-go/v2":
				i.ComposeGo = d.Version
			case "github.com/moby/moby/client":
				i.MobyAPI = d.Version
			}
		}
		if i.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					i.Commit = s.Value
				}
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}
