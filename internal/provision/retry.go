package provision

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
)

// Retry bounds how long a provisioner waits for its backend
// (REQ-AUTO-02/03, SPEC-INFRA-03 §8 MAX_RETRIES).
type Retry struct {
	MaxRetries int
	Deadline   time.Duration
	Initial    time.Duration
	Max        time.Duration
	Clock      clockwork.Clock
}

func (r Retry) withDefaults() Retry {
	if r.MaxRetries <= 0 {
		r.MaxRetries = 30
	}
	if r.Deadline <= 0 {
		r.Deadline = 2 * time.Minute
	}
	if r.Initial <= 0 {
		r.Initial = 200 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 5 * time.Second
	}
	if r.Clock == nil {
		r.Clock = clockwork.NewRealClock()
	}
	return r
}

// Wait calls try until it succeeds, with exponential backoff and full
// jitter, at most MaxRetries times and until Deadline; the error names the
// target and the last error.
func (r Retry) Wait(ctx context.Context, target string, try func(context.Context) error) error {
	r = r.withDefaults()
	start := r.Clock.Now()
	delay := r.Initial
	var last error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = try(actx)
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		elapsed := r.Clock.Since(start)
		if attempt >= r.MaxRetries || elapsed >= r.Deadline {
			return fmt.Errorf("%s not ready after %d attempts (%s): %v", target, attempt, elapsed.Round(time.Millisecond), last)
		}
		sleep := time.Duration(rand.Int64N(int64(delay))) + delay/2
		if rest := r.Deadline - elapsed; sleep > rest {
			sleep = rest
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.Clock.After(sleep):
		}
		delay = min(delay*2, r.Max)
	}
}
