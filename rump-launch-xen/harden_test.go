package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
)

// An INITRD that is not one, or that readers could read two ways, is
// refused before anything is written or run.
func TestInitrdRefusals(t *testing.T) {
	f := setup(t)
	hostile := filepath.Join(f.dir, "hostile.initrd")
	jsonFile := filepath.Join(f.dir, "app.json")
	if os.WriteFile(hostile, probe.HostileInitrd(), 0o644) != nil || os.WriteFile(jsonFile, []byte(`{"cmdline": "app"}`), 0o644) != nil {
		t.Fatal("writing the inputs")
	}
	for _, c := range []struct{ initrd, msg string }{
		{hostile, "rump-launch-xen: " + hostile + ": " + probe.HostileError + "\n"},
		{jsonFile, "rump-launch-xen: " + jsonFile + ": initrd: not a newc cpio archive (plain or gzip)\n"},
	} {
		for _, dry := range []bool{true, false} {
			args := []string{"-s", f.state, f.pvInitrd, c.initrd}
			if dry {
				args = append([]string{"-n"}, args...)
			}
			r := start(t, "", args...)
			if r.code != 1 || r.stdout != "" || r.stderr != c.msg {
				t.Errorf("%s (-n %v): exit %d, stdout %q, stderr\n %q\nwant\n %q", c.initrd, dry, r.code, r.stdout, r.stderr, c.msg)
			}
		}
	}
	if calls := f.ts.Calls(); len(calls) != 0 {
		t.Errorf("xl ran: %s", show(calls))
	}
	if _, err := os.Stat(f.state); err == nil {
		t.Error("the state directory was made")
	}
}
