package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	kiso "github.com/kdomanski/iso9660"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/iso9660/isotest"
)

func mkiso(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func needGRUB(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("grub-mkimage not installed (Debian packages grub-pc-bin and grub-common)")
	}
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsage(t *testing.T) {
	code, out, errs := mkiso(t, "", "-h")
	if code != 0 || !strings.HasPrefix(out, "usage: rump-mkiso") || errs != "" {
		t.Errorf("-h: %d, %q, %q", code, out, errs)
	}
	for _, args := range [][]string{
		{},
		{"a", "b", "c"},
		{"-B", "lilo", "k"},
		{"-x"},
		{"-d", "dir"},
		{"-d", "dir", "-o", "x.iso", "kernel"},
		{"-d", "dir", "-o", "x.iso", "-c", "json.cfg"},
		{"-d", "dir", "-o", "x.iso", "-B", "grub"},
		{"-d", "dir", "-o", "x.iso", "-N", "label"},
	} {
		code, out, errs := mkiso(t, "", args...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, "rump-mkiso: ") || !strings.HasSuffix(errs, "\nrun 'rump-mkiso -h' for usage\n") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, the mistake and where the usage is", args, code, out, errs)
		}
	}
}

// noTemp checks that a failed or finished run left no temporary file.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") || strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestBootImage(t *testing.T) {
	needGRUB(t)
	k := probe.Kernel(t, probe.Flavor{Bits: 64})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "app.json", `{"cmdline": "probe a"}`)
	out := filepath.Join(dir, "app.iso")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")

	code, stdout, errs := mkiso(t, "", "-c", cfg, "-o", out, "-N", "demo", "-e", "K=v", k)
	if code != 0 || stdout != "" || errs != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, errs)
	}
	noTemp(t, dir)
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("output: %v, %v", fi, err)
	}
	f, _ := os.Open(out)
	img, err := kiso.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	if label, _ := img.Label(); strings.TrimSpace(label) != "DEMO" {
		t.Errorf("label %q, want DEMO", label)
	}
	root, _ := img.RootDir()
	kids, _ := root.GetChildren()
	var cfgText []byte
	for _, c := range kids {
		if c.Name() == "json.cfg" {
			cfgText, _ = io.ReadAll(c.Reader())
		}
	}
	f.Close()
	if !strings.Contains(string(cfgText), `"hostname":"demo"`) || !strings.Contains(string(cfgText), `"env":"K=v"`) {
		t.Errorf("/json.cfg %q lacks -N and -e", cfgText)
	}

	// Same inputs, same bytes: also to standard output, also after the
	// kernel's modification time changed.
	first, _ := os.ReadFile(out)
	if err := os.Chtimes(k, time.Now(), time.Unix(42, 0)); err != nil {
		t.Fatal(err)
	}
	code, stdout, errs = mkiso(t, "", "-c", cfg, "-o", "-", "-N", "demo", "-e", "K=v", k)
	if code != 0 || errs != "" || stdout != string(first) {
		t.Errorf("-o -: exit %d, %q, %d bytes; want the %d bytes of the file", code, errs, len(stdout), len(first))
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000001")
	if _, stdout, _ = mkiso(t, "", "-c", cfg, "-o", "-", "-N", "demo", "-e", "K=v", k); stdout == string(first) {
		t.Errorf("another SOURCE_DATE_EPOCH gives the same image")
	}

	// The config from standard input, arguments after --.
	code, stdout, errs = mkiso(t, `{"hostname": "x"}`, "-c", "-", "-o", "-", k, "--", "arg one", "two")
	if code != 0 || !strings.Contains(stdout, `"arg one"`) || !strings.Contains(stdout, `"hostname":"x"`) {
		t.Errorf("-c - with args: exit %d, stderr %q", code, errs)
	}
}

func TestDefaultOutput(t *testing.T) {
	needGRUB(t)
	k := probe.Kernel(t, probe.Flavor{Bits: 32})
	t.Chdir(t.TempDir())
	if code, _, errs := mkiso(t, "", k); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat("probe32.iso"); err != nil {
		t.Errorf("default output: %v", err)
	}
	// The image is named after the hostname (-N) unless --name names it,
	// as a launcher names its machine.
	for _, c := range []struct {
		args        []string
		file, label string
	}{
		{[]string{"-N", "web"}, "web.iso", "WEB"},
		{[]string{"-N", "web", "--name", "box"}, "box.iso", "BOX"},
	} {
		if code, _, errs := mkiso(t, "", append(c.args, k)...); code != 0 {
			t.Fatalf("%q: exit %d: %s", c.args, code, errs)
		}
		f, err := os.Open(c.file)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		img, err := kiso.OpenImage(f)
		if err != nil {
			t.Fatal(err)
		}
		if label, _ := img.Label(); strings.TrimSpace(label) != c.label {
			t.Errorf("%q: label %q, want %s", c.args, label, c.label)
		}
		f.Close()
	}
}

func TestErrors(t *testing.T) {
	needGRUB(t)
	k := probe.Kernel(t, probe.Flavor{Bits: 64})
	ki := probe.Kernel(t, probe.Flavor{Bits: 64, Initrd: true})
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", "{\n  \"hostnme\": \"x\"\n}\n")
	good := writeFile(t, dir, "good.json", `{"cmdline": "x"}`)
	out := filepath.Join(dir, "out.iso")
	self, _ := os.Executable()
	cases := []struct {
		name string
		env  string
		args []string
		msg  string
	}{
		{"config error", "", []string{"-c", bad, "-o", out, k}, bad + ":2:3: "},
		{"no kernel", "", []string{"-o", out, filepath.Join(dir, "missing")}, "rump-mkiso: "},
		{"not multiboot", "", []string{"-c", good, "-o", out, self}, "not a multiboot kernel"},
		{"initrd for a rumprun kernel", "", []string{"-c", good, "-o", out, k, good}, "cannot read an initrd"},
		{"bad epoch", "soon", []string{"-c", good, "-o", out, k}, `rump-mkiso: SOURCE_DATE_EPOCH="soon" is not a time the generated initrd (newc) can hold (seconds from 0 to 4294967295)`},
		{"output is the kernel", "", []string{"-c", good, "-o", ki, ki}, "the output would replace an input"},
		{"no such output directory", "", []string{"-c", good, "-o", filepath.Join(dir, "nodir", "x.iso"), k}, "rump-mkiso: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("SOURCE_DATE_EPOCH", c.env)
			}
			code, stdout, errs := mkiso(t, "", c.args...)
			if code != 1 || stdout != "" || !strings.Contains(errs, c.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, errs, c.msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("an output file was written")
			}
			noTemp(t, dir)
		})
	}
}

func TestDataImage(t *testing.T) {
	src := filepath.Join(t.TempDir(), "payload")
	writeFile(t, src, "README.txt", "one\n")
	writeFile(t, src, "readme.TXT", "two\n")
	writeFile(t, src, "Sub Dir/ünïcødé.txt", "three\n")
	writeFile(t, src, "Sub Dir/"+strings.Repeat("long", 60), "four\n")
	if err := os.Symlink("../README.txt", filepath.Join(src, "Sub Dir", "link")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "data.iso")
	if code, _, errs := mkiso(t, "", "-d", src, "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	isotest.Check(t, out, isotest.Tree(t, src), isotest.Options{})
	f, _ := os.Open(out)
	img, _ := kiso.OpenImage(f)
	if label, _ := img.Label(); strings.TrimSpace(label) != "PAYLOAD" {
		t.Errorf("label %q", label)
	}
	f.Close()

	// New times on every file give the same bytes.
	first, _ := os.ReadFile(out)
	filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if fi.Mode()&os.ModeSymlink == 0 {
			os.Chtimes(p, time.Unix(1, 0), time.Unix(2, 0))
		}
		return nil
	})
	code, stdout, _ := mkiso(t, "", "-d", src, "-o", "-", "--name", "payload")
	if code != 0 || stdout != string(first) {
		t.Errorf("rebuild to stdout differs (exit %d)", code)
	}
	// --name labels the image.
	code, stdout, _ = mkiso(t, "", "-d", src, "-o", "-", "--name", "other")
	if code != 0 {
		t.Fatalf("--name: exit %d", code)
	}
	img, err := kiso.OpenImage(strings.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if label, _ := img.Label(); strings.TrimSpace(label) != "OTHER" {
		t.Errorf("--name other: label %q", label)
	}
}

func TestDataImageErrors(t *testing.T) {
	t.Run("file too large", func(t *testing.T) {
		src := t.TempDir()
		// A sparse file of 4 GiB: refused before anything is written.
		f, err := os.Create(filepath.Join(src, "huge.img"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(1 << 32); err != nil {
			t.Skip(err)
		}
		f.Close()
		outDir := t.TempDir()
		out := filepath.Join(outDir, "x.iso")
		code, _, errs := mkiso(t, "", "-d", src, "-o", out)
		want := "rump-mkiso: iso9660: huge.img: file too large for ISO 9660: 4294967296 bytes (at most 4294967295, 4 GiB - 1)\n"
		if code != 1 || errs != want {
			t.Errorf("exit %d, stderr %q; want %q", code, errs, want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("output written")
		}
		noTemp(t, outDir)
	})
	t.Run("special file", func(t *testing.T) {
		src := t.TempDir()
		if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
			t.Skip(err)
		}
		code, _, errs := mkiso(t, "", "-d", src, "-o", filepath.Join(t.TempDir(), "x.iso"))
		if code != 1 || !strings.Contains(errs, "pipe: unsupported file type: named pipe") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		f := writeFile(t, t.TempDir(), "f", "x")
		code, _, errs := mkiso(t, "", "-d", f, "-o", "-")
		if code != 1 || !strings.Contains(errs, "not a directory") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
}

func TestProgress(t *testing.T) {
	var dst, shown bytes.Buffer
	p := &progress{w: &dst, out: &shown, total: 400}
	p.Write(make([]byte, 100))
	if _, err := p.ReadFrom(bytes.NewReader(make([]byte, 300))); err != nil {
		t.Fatal(err)
	}
	if dst.Len() != 400 {
		t.Errorf("passed on %d bytes", dst.Len())
	}
	if got, want := shown.String(), "\rrump-mkiso:  25% of 0 MiB\rrump-mkiso: 100% of 0 MiB\r\x1b[K"; got != want {
		t.Errorf("shown %q, want %q", got, want)
	}
	// Not a terminal: the writer itself, so file copies stay in the kernel.
	if w := progressFor(&dst, &shown, 400); w != io.Writer(&dst) {
		t.Errorf("progress shown on a buffer")
	}
}
