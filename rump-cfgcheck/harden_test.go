package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
)

// A hostile initrd holds a harmless json.cfg and then another under a
// name that cleaning makes /json.cfg: it is refused, not checked by one
// of its configs while a kernel might boot the other.
func TestHostileInitrd(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"x/../json.cfg", "../../json.cfg", "/json.cfg"} {
		a := bytes.Join([][]byte{
			probe.NewcEntry("json.cfg", 0o100644, `{"cmdline": "harmless"}`, 1),
			probe.NewcEntry("x", 0o40755, "", 2),
			probe.NewcEntry(name, 0o100644, `{"cmdline": "other"}`, 1),
			probe.NewcEntry("TRAILER!!!", 0, "", 1),
		}, nil)
		p := write(t, dir, "hostile.initrd", string(a))
		r := runCLI(t, "", p)
		want := fmt.Sprintf("rump-cfgcheck: %s: initrd: entry 3 %q: ", p, name)
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) || r.stdout != "" {
			t.Errorf("%s: exit %d, stderr %q; want 1, %s...", name, r.code, r.stderr, want)
		}
	}
}

// -v has a meaning only with a target: without -t or -k it is a usage
// error, not silently ignored.
func TestVerboseWithoutTarget(t *testing.T) {
	cfg := write(t, t.TempDir(), "app.json", `{"cmdline": "app"}`)
	r := runCLI(t, "", "-v", cfg)
	want := "rump-cfgcheck: -v shows how a config maps to a target's host side: give -t target or -k kernel\nrun 'rump-cfgcheck -h' for usage\n"
	if r.code != 2 || r.stdout != "" || r.stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "", "-v", "-t", "qemu", cfg); r.code != 0 {
		t.Errorf("-v -t qemu: exit %d, %s", r.code, r.stderr)
	}
}
