package initrd

import (
	"io"
	"strings"
	"testing"
)

// endless is a line that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// A file list or spec on an endless input is an error after a bounded
// read, not a hang that fills memory.
func TestEndlessInputs(t *testing.T) {
	for _, sep := range []byte{'\n', 0} {
		err := NewBuilder(Options{}).AddList(endless{}, "list", sep)
		if err == nil || err.Error() != "initrd: list:1: a line of more than 4096 bytes names no file" {
			t.Errorf("endless list (sep %q): %v", sep, err)
		}
	}
	// The longest line a list may have is read (and fails only because
	// no such file exists).
	long := strings.Repeat("./", 2046) + "file"
	err := NewBuilder(Options{}).AddList(strings.NewReader(long+"\n"), "list", '\n')
	if err == nil || !strings.Contains(err.Error(), "list:1: lstat") {
		t.Errorf("4096-byte line: %v, want it looked up", err)
	}
	err = NewBuilder(Options{}).AddSpec(io.LimitReader(endless{}, 64<<20), "spec")
	if err == nil || !strings.Contains(err.Error(), "spec: bufio.Scanner: token too long") {
		t.Errorf("endless spec line: %v", err)
	}
}
