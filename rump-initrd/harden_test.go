package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/config"
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

// -t refuses an archive with a name readers could place differently,
// after listing the entries before it.
func TestListRefusesHostileNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hostile.initrd")
	must(t, os.WriteFile(p, probe.HostileInitrd(), 0o644))
	r := runTool(t, "", "-t", p)
	want := "rump-initrd: " + strings.TrimPrefix(probe.HostileError, "initrd: ") + "\n"
	if r.code != 1 || r.stderr != want || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, " json.cfg\n") {
		t.Errorf("-t: exit %d, stdout %q, stderr\n%s\nwant\n%s", r.code, r.stdout, r.stderr, want)
	}
}

// A tree whose json.cfg is hard-linked to a name sorting after it gives
// an initrd whose /json.cfg holds the config, for rump-initrd's own
// reader and every other.
func TestHardLinkedConfigFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	writeFile(t, filepath.Join(dir, "json.cfg"), `{"cmdline": "app"}`, 0o644)
	must(t, os.Link(filepath.Join(dir, "json.cfg"), filepath.Join(dir, "z.cfg")))
	out := filepath.Join(t.TempDir(), "app.initrd")
	if r := runTool(t, "", "-o", out, dir); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(out)
	must(t, err)
	defer f.Close()
	data, label, err := config.Load(out, f)
	if err != nil || string(data) != `{"cmdline": "app"}` || label != out+":/json.cfg" {
		t.Errorf("config.Load = %q, %q, %v", data, label, err)
	}
}

// An operand that is a device or a FIFO cannot be archived: an error, no
// output (inside a tree or a list such files are skipped with a warning).
func TestSpecialOperand(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	out := filepath.Join(dir, "z.cpio")
	for _, c := range []struct{ arg, msg string }{
		{"/dev/zero:/z", "rump-initrd: /dev/zero: a character device cannot be archived as a file (describe it with a nod, pipe or sock line in a spec file)\n"},
		{fifo, "rump-initrd: " + fifo + ": a named pipe cannot be archived as a file (describe it with a nod, pipe or sock line in a spec file)\n"},
	} {
		r := runTool(t, "", "-o", out, c.arg)
		if r.code != 1 || r.stderr != c.msg {
			t.Errorf("%s: exit %d, stderr %q; want 1, %q", c.arg, r.code, r.stderr, c.msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s", c.arg, out)
		}
	}
}

// Standard input has the name every tool gives it, in messages about a
// file list, a spec or a config read from it.
func TestStdinName(t *testing.T) {
	for _, c := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-"}, "/etc/passwd\n", `rump-initrd: <stdin>:1: "/etc/passwd" is an absolute path`},
		{[]string{"-s", "-"}, "bogus line\n", "rump-initrd: <stdin>:1: "},
		{[]string{"-c", "-"}, `{"hostnme": "x"}`, `<stdin>:1:2: /hostnme: unknown key "hostnme"`},
	} {
		r := runTool(t, c.stdin, append(c.args, "-o", filepath.Join(t.TempDir(), "out"))...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %s...", c.args, r.code, r.stderr, c.want)
		}
	}
}
