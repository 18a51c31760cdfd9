package cli

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/infractl/infractl/internal/report"
)

// IOStreams are the standard streams a command reads and writes. The verdict,
// JSON and JUnit go to Out; progress and warnings go to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY reports whether Out is a terminal (styles).
	OutTTY bool
	// ErrTTY reports whether ErrOut is a terminal (the live view of up).
	ErrTTY bool
	// ErrWidth is ErrOut's width in columns, asked at each redraw (a
	// resized terminal); nil or <= 0: unknown.
	ErrWidth func() int
	// Env is the process environment, injected for tests.
	Env []string
}

// SystemStreams are the process's streams.
func SystemStreams() IOStreams {
	return IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		ErrWidth: func() int {
			w, _, err := term.GetSize(int(os.Stderr.Fd()))
			if err != nil {
				return 0
			}
			return w
		},
		Env: os.Environ(),
	}
}

// Getenv looks a variable up in the injected environment.
func (s IOStreams) Getenv(key string) string {
	v, _ := s.LookupEnv(key)
	return v
}

// LookupEnv looks a variable up in the injected environment.
func (s IOStreams) LookupEnv(key string) (string, bool) {
	for i := len(s.Env) - 1; i >= 0; i-- {
		kv := s.Env[i]
		if len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '=' {
			return kv[len(key)+1:], true
		}
	}
	return "", false
}

// Color reports whether output may be styled: a terminal and no NO_COLOR.
func (s IOStreams) Color() bool {
	if _, set := s.LookupEnv("NO_COLOR"); set {
		return false
	}
	return s.OutTTY
}

// Styles returns the styles matching Color.
func (s IOStreams) Styles() report.Styles {
	if s.Color() {
		return report.ColorStyles()
	}
	return report.PlainStyles()
}
