//go:build !linux

package resource_test

import "time"

// threadCPU is unknown outside Linux.
func threadCPU() time.Duration { return -1 }
