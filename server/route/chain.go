package route

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Chain asks its routers in order, each within Timeout, and answers with the first route. A
// router that has no route, fails or is too slow passes to the next; when none answers, the
// route is a straight line at SpeedKmh marked Estimate. Chain never fails on a valid pair of
// points.
type Chain struct {
	Routers  []Router
	Names    []string // for the log, one per router
	Timeout  time.Duration
	SpeedKmh float64
	Log      *slog.Logger
}

// Route plans a route, falling back as described.
func (c *Chain) Route(ctx context.Context, from, to LatLng) (Route, error) {
	if isBad(from) || isBad(to) {
		return Route{}, ErrBadPoint
	}
	for i, r := range c.Routers {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if c.Timeout > 0 {
			rctx, cancel = context.WithTimeout(ctx, c.Timeout)
		}
		rt, err := r.Route(rctx, from, to)
		cancel()
		if err == nil {
			return rt, nil
		}
		if ctx.Err() != nil {
			break
		}
		if c.Log != nil && !IsNoRoute(err) {
			name := ""
			if i < len(c.Names) {
				name = c.Names[i]
			}
			c.Log.Warn("router failed, trying the next", "router", name, "timeout", errors.Is(err, context.DeadlineExceeded), "err", err)
		}
	}
	return Estimate(from, to, c.SpeedKmh), nil
}
