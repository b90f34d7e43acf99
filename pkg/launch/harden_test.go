package launch

import (
	"strings"
	"testing"
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
