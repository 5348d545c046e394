package mediatest

import (
	"fmt"
	"strings"
	"testing"
)

// TestSkipNotice: the line a developer sees when the MinIO suite is skipped is one line that
// names the package and the command that builds the binary.
func TestSkipNotice(t *testing.T) {
	err := fmt.Errorf("%w at /x/minio (from $HOME/.cache/yingji/bin); build it (about 2 min) with\n\tGOBIN=... go install m\nor run .ci/run", ErrNoMinIO)
	got := skipNotice("s3store.test", err)
	if strings.Contains(got, "\n") || !strings.HasPrefix(got, "s3store: MinIO media-store tests SKIPPED") ||
		!strings.Contains(got, "go install "+MinIOModule) {
		t.Errorf("notice %q", got)
	}
}
