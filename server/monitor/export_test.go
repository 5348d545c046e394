package monitor

import (
	"context"
	"time"
)

// Crash stops the service's goroutines as a killed process would: nothing waiting is stored,
// the in-memory rollups are lost and the rollup lease stays behind.
func Crash(s *Service) {
	s.writer.crashed.Store(true)
	s.stop()
	s.wg.Wait()
}

// FlushRaw stores the waiting readings but leaves the open buckets' rollups in memory.
func FlushRaw(ctx context.Context, s *Service) error { return s.writer.flushRaw(ctx) }

// SetRollupTiming replaces the rollup grace and write interval; call it before Start.
func SetRollupTiming(s *Service, grace, every time.Duration) {
	s.writer.roll.grace, s.writer.roll.every = grace, every
}

// RepairDead runs the rollup loop's check for dead instances' leases once.
func RepairDead(ctx context.Context, s *Service) error {
	s.writer.flushMu.Lock()
	defer s.writer.flushMu.Unlock()
	return s.writer.repairDead(ctx, false)
}
