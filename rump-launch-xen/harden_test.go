package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

// A state directory that looks like options (-s -rf) is never read as
// options: not by xl, nor by mkdir, mv and rm in the -n script, which sh
// runs here to the same calls and the same file.
func TestStateDirLikeAnOption(t *testing.T) {
	f := setup(t)
	t.Chdir(t.TempDir())
	args := []string{"-s", "-rf", "-N", "web", f.pv}
	if r := start(t, "", args...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	calls := f.ts.Calls()
	if len(calls) == 0 || !reflect.DeepEqual(calls[0], []string{"xl", "create", "-p", "./-rf/web.cfg"}) {
		t.Fatalf("calls:\n%s", show(calls))
	}
	created := f.ts.Created()
	if _, err := os.Stat("-rf/web.cfg"); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll("-rf")

	f.ts.Reset()
	dry := start(t, "", append([]string{"-n"}, args...)...)
	if dry.code != 0 {
		t.Fatalf("-n: exit %d: %s", dry.code, dry.stderr)
	}
	cmd := exec.Command("sh", "-c", dry.stdout)
	if out, err := cmd.Output(); err != nil || string(out) != "xen:web\n" {
		t.Fatalf("the script: %v\n%s\nscript:\n%s", err, out, dry.stdout)
	}
	if got := f.ts.Calls(); !reflect.DeepEqual(normalize(got), normalize(calls)) {
		t.Errorf("the script calls\n%s\nthe launcher\n%s", show(got), show(calls))
	}
	if f.ts.Created() != created {
		t.Error("the script's xl file differs from the launcher's")
	}
	if _, err := os.Stat("-rf/web.cfg"); err != nil {
		t.Error(err)
	}
}
