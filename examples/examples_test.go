// Package examples holds the example a user copies (hello/) and the
// end-to-end demo (demo/run); its test runs the example's Makefile as a
// user would, with the miniature rumprun toolchain of the tests.
package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/bake/baketest"
	"github.com/rumptools/rumptools/pkg/config"
)

// TestHelloMakefile builds examples/hello with its own Makefile, boots the
// result in QEMU through "make run", and checks that make rebuilds only what
// a change touches.
func TestHelloMakefile(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed (Debian package make)")
	}
	toolchain := baketest.Toolchain(t, "hw-initrd")
	tools := buildTools(t)
	dir := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("cp", "-R", "hello", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	cc := "CC=" + filepath.Join(toolchain, "bin", "x86_64-rumprun-netbsd-gcc")
	make := func(args ...string) *exec.Cmd {
		cmd := exec.Command("make", append([]string{"-C", dir, cc}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"))
		return cmd
	}
	mustMake := func(args ...string) string {
		t.Helper()
		out, err := make(args...).CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	mustMake()
	for _, f := range []string{"hello.bin", "hello.initrd"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("make built no %s: %v", f, err)
		}
	}
	if err := make("-q").Run(); err != nil {
		t.Errorf("make -q after a build: %v (something would be rebuilt)", err)
	}
	// A changed config repacks the initrd and nothing else.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(dir, "json.cfg"), later, later); err != nil {
		t.Fatal(err)
	}
	if out := mustMake(); !strings.Contains(out, "rump-initrd") || strings.Contains(out, "rump-bake") || strings.Contains(out, "-gcc") {
		t.Errorf("after touching json.cfg, make ran:\n%s", out)
	}
	mustMake("check")

	r := probe.RunCmd(t, make("-s", "run", "QEMUFLAGS=--accel tcg -I vioif0=user"), 0)
	if r.ProcessExit != 0 || r.ExitStatus != 0 || !slices.Contains(r.Other, "hello: hello from a rumprun unikernel") {
		t.Fatalf("make run: exit %d, program status %d\n%s\n%s", r.ProcessExit, r.ExitStatus, r.Output, r.Stderr)
	}
	want := canonicalWithoutSchema(t, filepath.Join(dir, "json.cfg"))
	if len(r.Modules) != 1 || string(r.Modules[0].JSONCfg) != want {
		t.Errorf("the guest's /json.cfg:\n%+v\nwant\n%s", r.Modules, want)
	}
	if !slices.ContainsFunc(r.PCI, func(f probe.PCIFunction) bool { return f.Vendor == 0x1af4 && f.Device == 0x1000 }) {
		t.Errorf("no virtio-net device for -I vioif0=user: %v", r.PCI)
	}

	mustMake("iso")
	if fi, err := os.Stat(filepath.Join(dir, "hello.iso")); err != nil || fi.Size() == 0 {
		t.Errorf("make iso: %v", err)
	}
}

// buildTools builds the tools the Makefile calls into a directory for PATH.
func buildTools(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator),
		"./rump-bake", "./rump-cfgcheck", "./rump-initrd", "./rump-launch-qemu", "./rump-launch-xen", "./rump-mkiso")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func canonicalWithoutSchema(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	c.Schema = ""
	b, err := c.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
