package report

import (
	"io"
	"strings"
	"sync"

	"github.com/charmbracelet/x/ansi"
)

// Live is a terminal view of one line per item (a service), redrawn in
// place. Set only records the line and wakes the view's own goroutine,
// which redraws; the caller (the scheduler's loop) never waits on the
// terminal. Each line is cut to the terminal's width, so a long line
// never wraps and breaks the redraw. Close draws the last state and stops.
type Live struct {
	w     io.Writer
	width func() int

	mu    sync.Mutex
	order []string
	lines map[string]string
	dirty bool

	wake chan struct{}
	done chan struct{}
	once sync.Once
	// drawn is how many lines the last redraw wrote (the view goroutine's).
	drawn int
}

// NewLive starts a live view on w; width reports the terminal's width in
// columns (0 or less: do not cut).
func NewLive(w io.Writer, width func() int) *Live {
	l := &Live{w: w, width: width, lines: map[string]string{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.loop()
	return l
}

// Set replaces the line of name (a new name goes last).
func (l *Live) Set(name, line string) {
	l.mu.Lock()
	if _, seen := l.lines[name]; !seen {
		l.order = append(l.order, name)
	}
	l.lines[name], l.dirty = line, true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close draws the last state and stops the view.
func (l *Live) Close() {
	l.once.Do(func() {
		close(l.wake)
		<-l.done
	})
}

func (l *Live) loop() {
	defer close(l.done)
	for range l.wake {
		l.draw()
	}
	l.draw()
}

func (l *Live) draw() {
	l.mu.Lock()
	if !l.dirty {
		l.mu.Unlock()
		return
	}
	lines := make([]string, len(l.order))
	for i, n := range l.order {
		lines[i] = l.lines[n]
	}
	l.dirty = false
	l.mu.Unlock()
	_, _ = io.WriteString(l.w, Redraw(lines, l.drawn, l.width()))
	l.drawn = len(lines)
}

// Redraw is the escape sequence that moves up over the prev lines drawn
// before and writes lines in their place, each cut to width columns
// (styles kept; width <= 0: not cut).
func Redraw(lines []string, prev, width int) string {
	var b strings.Builder
	if prev > 0 {
		b.WriteString(ansi.CursorUp(prev))
	}
	for _, line := range lines {
		if width > 0 && ansi.StringWidth(line) > width-1 {
			// One column spare: a line exactly as wide as the terminal
			// wraps on some terminals.
			line = ansi.Truncate(line, width-1, "…")
		}
		b.WriteString("\r" + ansi.EraseEntireLine + line + "\n")
	}
	return b.String()
}
