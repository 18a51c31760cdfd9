package report

import "strings"

// Screen replays what a live view wrote on a minimal terminal model
// (carriage return, cursor up, erase line, newline; other escapes are
// kept as text) and returns the lines left on screen. For tests of the
// live view, here and in its callers.
func Screen(out string) []string {
	var lines []string
	row := 0
	put := func(s string) {
		for len(lines) <= row {
			lines = append(lines, "")
		}
		lines[row] += s
	}
	for len(out) > 0 {
		switch {
		case out[0] == '\r':
			out = out[1:]
		case out[0] == '\n':
			put("")
			row++
			out = out[1:]
		case strings.HasPrefix(out, "\x1b[") && strings.IndexAny(out, "AK") > 0 && strings.Trim(out[2:strings.IndexAny(out, "AK")], "0123456789") == "":
			end := strings.IndexAny(out, "AK")
			n := 0
			for _, c := range out[2:end] {
				n = n*10 + int(c-'0')
			}
			if out[end] == 'A' {
				row -= max(n, 1)
			} else if row < len(lines) {
				lines[row] = ""
			}
			out = out[end+1:]
		default:
			end := strings.IndexAny(out[1:], "\r\n\x1b") + 1
			if end == 0 {
				end = len(out)
			}
			put(out[:end])
			out = out[end:]
		}
	}
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
