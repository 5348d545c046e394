package rules

import "time"

// Defaults from common practice (see the domain reference); cities configure their own.
const (
	// DefaultMinDuration is how long a threshold level must last before it counts (30–60 s).
	DefaultMinDuration = 30 * time.Second
	// DefaultStuckFor is how long an unchanged value lasts before it is "stuck".
	DefaultStuckFor = 120 * time.Minute
	// DefaultJumpFraction is the change, as a fraction of the instrument range, that counts as
	// a jump in one sampling period.
	DefaultJumpFraction = 0.2
	// DefaultOfflineTimeout is the heartbeat timeout of a device without a sampling period.
	DefaultOfflineTimeout = 5 * time.Minute
	// MissedPeriods is how many reporting periods a device may miss before it is offline.
	MissedPeriods = 3
)

// OfflineTimeout is the heartbeat timeout of a device reporting every period: MissedPeriods
// periods, or DefaultOfflineTimeout when the period is unknown (0 or negative).
func OfflineTimeout(period time.Duration) time.Duration {
	if period <= 0 {
		return DefaultOfflineTimeout
	}
	return MissedPeriods * period
}

// DefaultQuality returns the default data-quality checks for an instrument range (either end
// may be nil): range when known, stuck after DefaultStuckFor of exactly equal values, and jumps
// over DefaultJumpFraction of the range when both ends are known. Fluctuation stays off.
func DefaultQuality(rangeMin, rangeMax *float64) Quality {
	q := Quality{RangeMin: rangeMin, RangeMax: rangeMax, StuckFor: DefaultStuckFor}
	if rangeMin != nil && rangeMax != nil {
		q.JumpFraction = DefaultJumpFraction
	}
	return q
}
