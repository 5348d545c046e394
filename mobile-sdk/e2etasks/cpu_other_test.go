//go:build !linux

package e2etasks_test

import (
	"context"
	"time"

	"github.com/yingji/yingji/server/sqldb"
)

// selfCPU is unknown outside Linux.
func selfCPU() time.Duration { return 0 }

// backendsCPU is unknown outside Linux.
func backendsCPU(context.Context, sqldb.DB) func() time.Duration {
	return func() time.Duration { return 0 }
}
