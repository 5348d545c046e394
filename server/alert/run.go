package alert

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
)

// RunJob does the work of one of the service's jobs at once, in the caller's goroutine, as its
// river worker would (attempt 1 of a delivery): a dispatch, a delivery, an escalation timer or
// the sweep. The demo city's history replays its alerts with it, in simulated time, with a
// Jobs inserter that collects what they schedule instead of river.
func (s *Service) RunJob(ctx context.Context, args river.JobArgs) error {
	switch a := args.(type) {
	case DispatchArgs:
		return s.dispatch(ctx, a)
	case DeliveryArgs:
		return s.deliver(ctx, a, 1, s.Config.MaxAttempts)
	case TimerArgs:
		return s.escalate(ctx, a.AlertID, a.Step)
	case SweepArgs:
		return s.Sweep(ctx)
	}
	return fmt.Errorf("alert: no job of kind %s", args.Kind())
}
