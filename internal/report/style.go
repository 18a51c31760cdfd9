package report

import (
	"charm.land/lipgloss/v2"

	"github.com/infractl/infractl/internal/compose"
)

// Styler renders a string, styled or not.
type Styler interface{ Render(...string) string }

type plain struct{}

func (plain) Render(s ...string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// Styles are the styles of text output. PlainStyles render nothing extra;
// use them when stdout is not a terminal or NO_COLOR is set.
type Styles struct {
	Title, Name, Init, Backend, App, OK, Fail, Warn, Dim Styler
}

// Role returns the style of a role.
func (s Styles) Role(r compose.Role) Styler {
	switch r {
	case compose.RoleInit:
		return s.Init
	case compose.RoleBackend:
		return s.Backend
	}
	return s.App
}

// PlainStyles return styles that add nothing (golden tests, CI logs).
func PlainStyles() Styles {
	p := plain{}
	return Styles{p, p, p, p, p, p, p, p, p}
}

// ColorStyles return lipgloss styles for a terminal.
func ColorStyles() Styles {
	n := lipgloss.NewStyle
	return Styles{
		Title:   n().Bold(true),
		Name:    n().Bold(true).Foreground(lipgloss.Color("12")),
		Init:    n().Foreground(lipgloss.Color("13")),
		Backend: n().Foreground(lipgloss.Color("14")),
		App:     n(),
		OK:      n().Foreground(lipgloss.Color("10")),
		Fail:    n().Bold(true).Foreground(lipgloss.Color("9")),
		Warn:    n().Foreground(lipgloss.Color("11")),
		Dim:     n().Faint(true),
	}
}
