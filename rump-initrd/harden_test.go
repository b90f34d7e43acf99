package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -c on an endless input fails after a bounded read and writes nothing.
func TestEndlessConfig(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.initrd")
	r := runTool(t, "", "-c", "/dev/zero", "-o", out)
	if r.code != 1 || !strings.Contains(r.stderr, "/dev/zero:1:1: file too large") {
		t.Errorf("-c /dev/zero: %+v", r)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output written")
	}
}
