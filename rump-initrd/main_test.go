package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/initrd"
)

type result struct {
	code           int
	stdout, stderr string
}

func runTool(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := realMain(args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(data), mode))
	must(t, os.Chmod(p, mode))
}

// rootfs makes a small tree and returns its path.
func rootfs(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "rootfs")
	writeFile(t, filepath.Join(dir, "etc/motd"), "hello\n", 0o644)
	writeFile(t, filepath.Join(dir, "bin/tool"), "#!/bin/sh\necho tool\n", 0o755)
	writeFile(t, filepath.Join(dir, "data/file with spaces ü"), "x", 0o600)
	must(t, os.Link(filepath.Join(dir, "bin/tool"), filepath.Join(dir, "bin/tool2")))
	must(t, os.Symlink("../etc/motd", filepath.Join(dir, "bin/motd")))
	return dir
}

func entries(t *testing.T, archive []byte) []initrd.Header {
	t.Helper()
	r, err := initrd.NewReader(bytes.NewReader(archive))
	must(t, err)
	var hs []initrd.Header
	for {
		h, err := r.Next()
		if err == io.EOF {
			return hs
		}
		must(t, err)
		hs = append(hs, *h)
	}
}

func TestHelpAndUsageErrors(t *testing.T) {
	r := runTool(t, "", "-h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: rump-initrd ") || r.stderr != "" {
		t.Errorf("-h: %+v", r)
	}
	for args, msg := range map[string]string{
		"-x":      "flag provided but not defined: -x",
		"":        "nothing to archive: give a SRC, -, -s spec or -c json.cfg",
		"-t a -z": "-t takes only the file to list",
		"-t a b":  "-t takes only the file to list",
		"- -s -":  "standard input can feed only one of -, -s - and -c -",
		":x":      `":x": no source before ':'`,
		"-o":      "flag needs an argument: -o",
	} {
		r := runTool(t, "", strings.Fields(args)...)
		if r.code != 2 || r.stderr != "rump-initrd: "+msg+"\nrun 'rump-initrd -h' for usage\n" || r.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestBuildListAndConfig(t *testing.T) {
	root := rootfs(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "app.json")
	// $schema is an editor hint: it is not stored (it would reach the kernel).
	writeFile(t, cfg, `{"$schema": "json.cfg.schema.json", "cmdline": "app -v", "hostname": "box", "net": {"if": "vioif0", "type": "inet", "method": "dhcp"}}`, 0o600)
	out := filepath.Join(dir, "app.initrd")
	// Flags after operands work too.
	r := runTool(t, "", root, "-c", cfg, "-o", out)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("build: %+v", r)
	}
	list := runTool(t, "", "-t", out)
	want := `drwxr-xr-x   2 0        0               0 1970-01-01 00:00 bin
lrwxrwxrwx   1 0        0              11 1970-01-01 00:00 bin/motd -> ../etc/motd
-rwxr-xr-x   2 0        0               0 1970-01-01 00:00 bin/tool
-rwxr-xr-x   2 0        0              20 1970-01-01 00:00 bin/tool2
drwxr-xr-x   2 0        0               0 1970-01-01 00:00 data
-rw-------   1 0        0               1 1970-01-01 00:00 data/file with spaces ü
drwxr-xr-x   2 0        0               0 1970-01-01 00:00 etc
-rw-r--r--   1 0        0               6 1970-01-01 00:00 etc/motd
-rw-r--r--   1 0        0             %d 1970-01-01 00:00 json.cfg
`
	canon := `{
  "hostname": "box",
  "cmdline": "app -v",
  "net": [
    {
      "if": "vioif0",
      "type": "inet",
      "method": "dhcp"
    }
  ]
}
`
	want = strings.Replace(want, "           %d", padLeft(len(canon), 14), 1)
	if list.code != 0 || list.stdout != want {
		t.Errorf("-t: exit %d\n%s\nwant\n%s\nstderr %s", list.code, list.stdout, want, list.stderr)
	}
	if got := extract(t, out, "json.cfg"); got != canon {
		t.Errorf("json.cfg in the initrd:\n%s\nwant the canonical form\n%s", got, canon)
	}
	// The output file is readable by all, like any file a build writes.
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("output mode: %v %v", fi.Mode(), err)
	}
	// Standard output gives the same bytes.
	r = runTool(t, "", "-c", cfg, root)
	if data, _ := os.ReadFile(out); r.code != 0 || r.stdout != string(data) {
		t.Errorf("stdout differs from -o file (exit %d, %s)", r.code, r.stderr)
	}
}

func padLeft(n int, width int) string {
	return fmt.Sprintf("%*d", width, n)
}

// extract returns the data of one entry of an initrd file.
func extract(t *testing.T, archive, name string) string {
	t.Helper()
	f, err := os.Open(archive)
	must(t, err)
	defer f.Close()
	r, err := initrd.NewReader(f)
	must(t, err)
	for {
		h, err := r.Next()
		if err == io.EOF {
			t.Fatalf("%s: no %s", archive, name)
		}
		must(t, err)
		if h.Name == name {
			b, err := io.ReadAll(r)
			must(t, err)
			return string(b)
		}
	}
}

func TestConfigErrorsAndWarnings(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, "{\n  \"cmdline\": \"app\",\n  \"hostnme\": \"x\"\n}\n", 0o644)
	out := filepath.Join(dir, "out.initrd")
	r := runTool(t, "", "-c", bad, "-o", out)
	if r.code != 1 || !strings.HasPrefix(r.stderr, bad+":3:3: ") || !strings.Contains(r.stderr, "hostname") {
		t.Errorf("bad config: %+v", r)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output written despite the config error")
	}

	// The rumprun dialect is accepted, with warnings, and stored canonical.
	dialect := filepath.Join(dir, "dialect.json")
	writeFile(t, dialect, "{\"cmdline\": \"app\", \"net\": {\"if\": \"vioif0\", \"type\": \"inet\", \"method\": \"dhcp\",},}\n", 0o644)
	r = runTool(t, "", "-c", dialect, "-o", out)
	if r.code != 0 || !strings.Contains(r.stderr, dialect+":1:") || !strings.Contains(r.stderr, "warning:") {
		t.Errorf("dialect config: %+v", r)
	}
	if got := extract(t, out, "json.cfg"); !strings.Contains(got, `"net": [`) || strings.Contains(got, ",}") {
		t.Errorf("stored config is not canonical:\n%s", got)
	}

	// From standard input; "$schema" is for editors, not for the kernel.
	r = runTool(t, `{"$schema": "https://example.org/json.cfg.schema.json", "cmdline": "x"}`, "-c", "-", "-o", out)
	if r.code != 0 || extract(t, out, "json.cfg") != "{\n  \"cmdline\": \"x\"\n}\n" {
		t.Errorf("-c -: %+v", r)
	}
}

// TestFailureLeavesNothing: an error found while writing removes the
// temporary file and leaves an existing output alone.
func TestFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec")
	writeFile(t, spec, "slink /etc /nowhere 777 0 0\n", 0o644)
	out := filepath.Join(dir, "out.initrd")
	writeFile(t, out, "previous", 0o644)
	r := runTool(t, "", rootfs(t), "-s", spec, "-o", out)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "rump-initrd: etc/motd (from ") || !strings.Contains(r.stderr, "parent etc is a symbolic link (from "+spec+":1), not a directory") {
		t.Errorf("entry below a symlink: %+v", r)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous" {
		t.Errorf("output changed to %q", b)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2 {
		t.Errorf("files left in %s: %v", dir, files)
	}
}

func TestSourceDateEpochAndReproducibility(t *testing.T) {
	root := rootfs(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1600000000")
	first := runTool(t, "", "-z", root)
	if first.code != 0 {
		t.Fatal(first.stderr)
	}
	now := time.Now()
	for _, p := range []string{"etc/motd", "bin/tool", "bin", "etc", "data"} {
		must(t, os.Chtimes(filepath.Join(root, p), now, now))
	}
	again := runTool(t, "", "-z", root)
	if again.stdout != first.stdout {
		t.Error("-z output changed after touching the files")
	}
	for _, h := range entries(t, []byte(first.stdout)) {
		if h.Mtime != 1600000000 {
			t.Errorf("%s: mtime %d", h.Name, h.Mtime)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if r := runTool(t, "", root); r.code != 1 || r.stderr != "rump-initrd: SOURCE_DATE_EPOCH=\"yesterday\" is not a time newc can hold (seconds from 0 to 4294967295)\n" {
		t.Errorf("bad SOURCE_DATE_EPOCH: %+v", r)
	}
}

func TestFileListSpecAndVerbose(t *testing.T) {
	root := rootfs(t)
	t.Chdir(root)
	spec := filepath.Join(t.TempDir(), "spec")
	writeFile(t, spec, "dir /dev 755 0 0\nnod /dev/console 600 0 0 c 5 1\nfile /etc/motd etc/motd 600 1 2\n", 0o644)
	r := runTool(t, ".\x00./etc\x00./etc/motd\x00data/file with spaces ü\x00", "-0", "-v", "-", "-s", spec)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	var got []string
	for _, h := range entries(t, []byte(r.stdout)) {
		got = append(got, h.Name)
	}
	want := []string{"data", "data/file with spaces ü", "dev", "dev/console", "etc", "etc/motd"}
	if !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
	if r.stderr != "rump-initrd: etc/motd: "+spec+":3 overrides ./etc/motd\n" {
		t.Errorf("-v: %q", r.stderr)
	}
}

func TestListErrors(t *testing.T) {
	dir := t.TempDir()
	trunc := filepath.Join(dir, "trunc")
	r := runTool(t, "", rootfs(t))
	writeFile(t, trunc, r.stdout[:200], 0o644)
	l := runTool(t, "", "-t", trunc)
	if l.code != 1 || !strings.HasPrefix(l.stdout, "drwxr-xr-x ") || !strings.HasPrefix(l.stderr, "rump-initrd: entry 2: truncated header at offset 200: unexpected EOF") {
		t.Errorf("truncated: %+v", l)
	}
	l = runTool(t, "", "-t", filepath.Join(dir, "missing"))
	if l.code != 1 || !strings.Contains(l.stderr, "no such file") {
		t.Errorf("missing: %+v", l)
	}
}

// TestProbeBoot boots the probe kernel with a plain and a gzip initrd: it
// must list every entry as our reader does and print /json.cfg (whose
// probe-exit token becomes the exit status).
func TestProbeBoot(t *testing.T) {
	kernel := probe.Kernel(t, probe.Flavor{Bits: 32, Initrd: true})
	root := rootfs(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "json.cfg")
	writeFile(t, cfg, `{"cmdline": "probe probe-exit=3"}`, 0o644)
	for _, gz := range []bool{false, true} {
		out := filepath.Join(dir, "initrd")
		args := []string{"-c", cfg, "-o", out, root}
		if gz {
			out += ".gz"
			args = append([]string{"-z"}, args...)
			args[4] = out
		}
		if r := runTool(t, "", args...); r.code != 0 {
			t.Fatal(r.stderr)
		}
		archive, err := os.ReadFile(out)
		must(t, err)
		res := probe.Boot(t, probe.BootOptions{Kernel: kernel, Modules: []probe.BootModule{{Path: out}}})
		if len(res.Modules) != 1 {
			t.Fatalf("gzip=%v: probe saw %d modules\n%s", gz, len(res.Modules), res.Output)
		}
		m := res.Modules[0]
		var want []probe.CpioEntry
		for _, h := range entries(t, archive) {
			want = append(want, probe.CpioEntry{Mode: h.Mode, Size: h.Size, Name: h.Name})
		}
		if m.Gzip != gz || m.CpioError != "" || !slices.Equal(m.Cpio, want) {
			t.Errorf("gzip=%v: probe reports gzip=%v error %q entries\n%v\nwant\n%v", gz, m.Gzip, m.CpioError, m.Cpio, want)
		}
		if !m.HasJSONCfg || string(m.JSONCfg) != "{\n  \"cmdline\": \"probe probe-exit=3\"\n}\n" {
			t.Errorf("gzip=%v: probe's json.cfg %q", gz, m.JSONCfg)
		}
		if res.ExitStatus != 3 {
			t.Errorf("gzip=%v: exit status %d, want 3 from /json.cfg\n%s", gz, res.ExitStatus, res.Output)
		}
	}
}
