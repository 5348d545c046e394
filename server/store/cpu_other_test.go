//go:build !linux

package store_test

import "time"

// threadCPU is unknown outside Linux.
func threadCPU() time.Duration { return -1 }

// procCPU is unknown outside Linux.
func procCPU(int) time.Duration { return 0 }
