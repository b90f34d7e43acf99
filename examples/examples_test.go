// Package examples holds the example a user copies (hello/) and the
// end-to-end demo (demo/run); its test runs the example's Makefile as a
// user would: with the real rumprun toolchain that RUMPRUN_TOOLCHAIN
// names (CI sets it), else with the miniature toolchain of the tests.
package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/bake/baketest"
	"github.com/rumptools/rumptools/pkg/config"
)

// probeHello stands in for hello.c on the miniature toolchain, whose
// platform (the probe kernel) has no C library: it prints what the kernel
// received before main runs, and cons_puts is its only output.
const probeHello = `void cons_puts(const char *s);
int main(int argc, char **argv);

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cons_puts("hello: hello from the probe platform\n");
	return 0;
}
`

// example is a copy of examples/hello and how to run make in it.
type example struct {
	dir  string
	args []string // make arguments before the target
	env  []string
}

func (e *example) make(args ...string) *exec.Cmd {
	cmd := exec.Command("make", append(append([]string{"-C", e.dir}, e.args...), args...)...)
	cmd.Env = e.env
	return cmd
}

func (e *example) mustMake(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.make(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestHelloMakefile builds examples/hello with its own Makefile, checks
// that make rebuilds only what a change touches, and runs "make check",
// "make run" (the guest in QEMU), "make iso" (the image booted in QEMU as
// a CD) and "make plan".
func TestHelloMakefile(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed (Debian package make)")
	}
	tools := buildTools(t)
	dir := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("cp", "-R", "hello", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "json.cfg")
	ex := &example{dir: dir}
	real := os.Getenv("RUMPRUN_TOOLCHAIN") != ""
	if real {
		// As the Makefile's user does: the toolchain's bin on PATH, CC
		// as the Makefile names it.
		tc := realkernel.HW(t)
		ex.env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+filepath.Join(tc.Dir, "bin")+
			string(os.PathListSeparator)+os.Getenv("PATH"))
	} else {
		toolchain := baketest.Toolchain(t, "hw-initrd")
		if err := os.WriteFile(filepath.Join(dir, "hello.c"), []byte(probeHello), 0o644); err != nil {
			t.Fatal(err)
		}
		ex.args = []string{"CC=" + filepath.Join(toolchain, "bin", "x86_64-rumprun-netbsd-gcc")}
		ex.env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"))
	}

	ex.mustMake(t)
	for _, f := range []string{"hello.bin", "hello.initrd"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("make built no %s: %v", f, err)
		}
	}
	if err := ex.make("-q").Run(); err != nil {
		t.Errorf("make -q after a build: %v (something would be rebuilt)", err)
	}
	// A changed config repacks the initrd and nothing else.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(cfg, later, later); err != nil {
		t.Fatal(err)
	}
	if out := ex.mustMake(t); !strings.Contains(out, "rump-initrd") || strings.Contains(out, "rump-bake") || strings.Contains(out, "-gcc") {
		t.Errorf("after touching json.cfg, make ran:\n%s", out)
	}
	ex.mustMake(t, "check")

	// What the guest must show: the real program prints its argv, its
	// environment and /etc/motd from the initrd; on the probe platform the
	// kernel prints the initrd's /json.cfg, and the program its line.
	want := func(t *testing.T, r *probe.Result) {
		t.Helper()
		lines := strings.Split(string(bytes.ReplaceAll(r.Output, []byte("\r"), nil)), "\n")
		wantLines := []string{"hello: hello from the probe platform"}
		if real {
			wantLines = []string{"hello: hello from a rumprun unikernel", "hello: argv[0] = hello", "hello: argv[1] = two words",
				"hello: argv[2] = it's here", "hello: argv[3] = ünïcode", "hello: env GREETING=hello, world",
				"hello: /etc/motd: Welcome to a rumprun unikernel built with rumptools."}
		} else if canonical := canonicalWithoutSchema(t, cfg); len(r.Modules) != 1 || string(r.Modules[0].JSONCfg) != canonical {
			t.Errorf("the guest's /json.cfg:\n%+v\nwant\n%s", r.Modules, canonical)
		}
		for _, w := range wantLines {
			if !slices.Contains(lines, w) {
				t.Errorf("no line %q in the output:\n%s", w, r.Output)
			}
		}
		name := "probe" // the probe platform's markers name itself
		if real {
			name = "hello"
		}
		if !slices.Equal(r.Calls, []probe.Call{{Name: name, Returned: 0}}) || r.ExitStatus != 0 {
			t.Errorf("calls %+v, exit %d; want %s returning 0", r.Calls, r.ExitStatus, name)
		}
	}

	t.Run("run", func(t *testing.T) {
		r := probe.RunCmd(t, ex.make("-s", "run", "QEMUFLAGS=--accel tcg -I vioif0=user"), 3*time.Minute)
		if r.ProcessExit != 0 {
			t.Errorf("make run: exit %d\n%s", r.ProcessExit, r.Stderr)
		}
		want(t, r)
		if !real && !slices.ContainsFunc(r.PCI, func(f probe.PCIFunction) bool { return f.Vendor == 0x1af4 && f.Device == 0x1000 }) {
			t.Errorf("no virtio-net device for -I vioif0=user: %v", r.PCI)
		}
	})
	t.Run("iso", func(t *testing.T) {
		ex.mustMake(t, "iso")
		if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
			t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
		}
		iso := filepath.Join(dir, "hello.iso")
		r := probe.RunCmd(t, exec.Command("qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nodefaults", "-vga", "none",
			"-display", "none", "-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
			"-cdrom", iso, "-boot", "d"), 3*time.Minute)
		want(t, r)
	})
	t.Run("plan", func(t *testing.T) {
		out := ex.mustMake(t, "plan")
		for _, w := range []string{" -kernel hello.bin -initrd hello.initrd ", "-device virtio-net-pci,netdev=vioif0,",
			`ramdisk = "` + filepath.Join(dir, "hello.initrd") + `"`, `vif = [ "model=e1000,bridge=xenbr0,`, "xl create -p "} {
			if !strings.Contains(out, w) {
				t.Errorf("make plan prints no %q:\n%s", w, out)
			}
		}
	})
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
