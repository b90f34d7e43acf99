package bake

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/kernel"
)

// --stamp on a FIFO or a device is refused at once (opening a FIFO for
// the new file waited for a reader for ever).
func TestStampNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, p := range []string{fifo, "/dev/null"} {
		done := make(chan error, 1)
		go func() { done <- StampFile(p, &kernel.BakeRecord{Config: "hw_generic"}) }()
		select {
		case err := <-done:
			if err == nil || err.Error() != p+": not a regular file" {
				t.Errorf("StampFile(%s): %v", p, err)
			}
		case <-time.After(30 * time.Second): // a guard, not a measurement
			t.Fatalf("StampFile(%s) still waiting", p)
		}
	}
}
