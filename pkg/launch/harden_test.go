package launch

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// zeros is an endless input.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// An endless -c input (a device, a pipe that never ends) is refused once
// it exceeds what a config may hold, instead of filling memory.
func TestEndlessConfigRefused(t *testing.T) {
	for _, o := range []Options{
		{ConfigFile: "/dev/zero"},
		{ConfigFile: "-", Stdin: zeros{}},
	} {
		o.Kernel = rumprunKernel(t)
		_, _, err := New(o, testTarget)
		if err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("-c %s: %v, want a config too large", o.ConfigFile, err)
		}
	}
}

// An initrd that is a FIFO or a device is refused, without waiting for a
// writer that never comes.
func TestInitrdNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, rd := range []string{fifo, "/dev/zero"} {
		done := make(chan error, 1)
		go func() {
			_, _, err := New(Options{Kernel: initrdKernel(t), Initrd: rd}, testTarget)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || err.Error() != rd+": not a regular file" {
				t.Errorf("initrd %s: %v", rd, err)
			}
		case <-time.After(30 * time.Second): // a guard, not a measurement
			t.Fatalf("initrd %s: still waiting to open it", rd)
		}
	}
}
