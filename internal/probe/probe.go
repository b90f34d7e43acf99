// Package probe builds the probe kernel (testdata/probe), boots it in
// QEMU and decodes what it reports, so that tests can check what a
// launcher or a boot medium really hands to a multiboot kernel.
//
// The probe prints one fact per line on COM1 (testdata/probe/README.md has
// the format): the loader name, the command line, each module (size,
// string, the newc cpio entries of a plain or gzip initrd, its json.cfg,
// JSON text), memory, the PCI functions on bus 0, then rumprun's console
// markers. Its exit status N is the first probe-exit=N in the config
// texts it received (command line, then modules in order); with
// probe-bootstrap-fail it prints "=== bootstrap failed" instead of calling
// main. It then writes N to isa-debug-exit (QEMU exits with 2N+1) or,
// without that device, halts for ever.
//
// API:
//
//	Flavors, Flavor{Bits: 32|64, Initrd: bool}        the four kernels; Flavor.String() is the file's base name
//	Kernel(t, f) string                               path of a built kernel; make builds all four once per test binary
//	                                                  into os.TempDir()/rumptools-probe-<hash of the sources>
//	SourceDir() (string, error)                       the repository's testdata/probe
//	Boot(t, BootOptions) *Result                      qemu-system-i386 (ELF32) or qemu-system-x86_64, no shell
//	QEMUArgs(BootOptions) ([]string, error)           the arguments Boot passes
//	Run(t, name, args...) *Result                     any command that boots a probe on its standard output
//	RunCmd(t, *exec.Cmd, timeout) *Result             the same for a prepared command (Env, Dir, Stdin)
//	Parse(out) (*Result, error)                       decode a transcript; *ParseError for a malformed line
//	(*Result).Args() string                           the command line without the kernel path QEMU puts first
//
// Boot runs QEMU with -accel tcg -m 128 -nodefaults -vga none -display none
// -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
// -kernel K [-append S] [-initrd "path string,path"] plus ExtraArgs; it
// skips the test when the QEMU binary is missing, and Kernel skips it when
// make, gcc -m32 or binutils are.
//
// Boot, Run and RunCmd fail the test with the output so far when the
// command outlives its timeout (DefaultTimeout, 60 s, unless given) and
// kill its whole process group. A command still running 3 s after the
// probe printed "halted" or "=== bootstrap failed" (QEMU without
// isa-debug-exit, like a launcher starts it) is killed and reported with
// Result.Killed set and ProcessExit -1. At most two of these commands run
// at a time across all test processes on the machine: each holds one of
// two flock(2)ed slot files in os.TempDir() while its command runs.
//
// Result.Cmdline is the command line as the kernel received it: QEMU
// (like GRUB) puts the kernel's path and a space before the -append text,
// even without -append. A module's string is its whole -initrd entry,
// path first, then a space and the text after it.
package probe

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds a boot when BootOptions.Timeout (or RunCmd's) is 0.
const DefaultTimeout = 60 * time.Second

// haltGrace is how long a command may keep running after the probe halted.
const haltGrace = 3 * time.Second

// Flavor selects one of the four probe kernels.
type Flavor struct {
	Bits   int  // 32: ELF32 i386; 64: ELF64 x86-64 with the multiboot a.out kludge
	Initrd bool // carries the rumpboot type-1 note "initrd/1"
}

// Flavors lists all four probe kernels.
var Flavors = []Flavor{{32, false}, {32, true}, {64, false}, {64, true}}

// String returns the kernel's base name, e.g. "probe64-initrd".
func (f Flavor) String() string {
	s := fmt.Sprintf("probe%d", f.Bits)
	if f.Initrd {
		s += "-initrd"
	}
	return s
}

var build struct {
	once sync.Once
	dir  string
	skip string
	err  error
}

// Kernel returns the path of the probe kernel of flavour f. The first call
// in a test binary builds all flavours with make into a directory under
// os.TempDir() named after a hash of the sources (so later runs reuse it).
func Kernel(t testing.TB, f Flavor) string {
	t.Helper()
	if f.Bits != 32 && f.Bits != 64 {
		t.Fatalf("probe: flavour with %d bits; want 32 or 64", f.Bits)
	}
	build.once.Do(func() { build.dir, build.skip, build.err = buildKernels() })
	if build.skip != "" {
		t.Skip(build.skip)
	}
	if build.err != nil {
		t.Fatalf("probe: building the probe kernels: %v", build.err)
	}
	return filepath.Join(build.dir, f.String()+".elf")
}

// SourceDir returns testdata/probe of the repository.
func SourceDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "probe")
		if _, err := os.Stat(filepath.Join(dir, "Makefile")); err == nil {
			return filepath.Clean(dir), nil
		}
	}
	// Built with -trimpath: look upward from the working directory (go
	// test runs in the package directory) for the module root.
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(b, []byte("module github.com/rumptools/rumptools\n")) {
			return filepath.Join(dir, "testdata", "probe"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("cannot find the rumptools repository above " + wd)
		}
	}
}

func buildKernels() (dir, skip string, err error) {
	for _, prog := range []struct{ name, pkg string }{
		{"make", "make"}, {"gcc", "gcc-multilib"}, {"ld", "binutils"}, {"objcopy", "binutils"},
	} {
		if _, err := exec.LookPath(prog.name); err != nil {
			return "", fmt.Sprintf("%s not installed (Debian package %s)", prog.name, prog.pkg), nil
		}
	}
	cc := exec.Command("gcc", "-m32", "-ffreestanding", "-c", "-x", "c", "-o", os.DevNull, "-")
	cc.Stdin = strings.NewReader("#include <stdint.h>\nuint32_t x;\n")
	if out, err := cc.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("gcc -m32 cannot compile (Debian package gcc-multilib): %v: %s", err, out), nil
	}
	src, err := SourceDir()
	if err != nil {
		return "", "", err
	}
	sum, err := hashSources(src)
	if err != nil {
		return "", "", err
	}
	dir = filepath.Join(os.TempDir(), "rumptools-probe-"+sum)
	if haveKernels(dir) {
		return dir, "", nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "rumptools-probe-build-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("make", "-s", "-C", src, "OUT="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("make -C %s: %v\n%s", src, err, out)
	}
	if !haveKernels(tmp) {
		return "", "", fmt.Errorf("make -C %s did not build all four kernels", src)
	}
	// Another test process may have won the race; its kernels are the same.
	if err := os.Rename(tmp, dir); err != nil && !haveKernels(dir) {
		return "", "", err
	}
	return dir, "", nil
}

func haveKernels(dir string) bool {
	for _, f := range Flavors {
		if _, err := os.Stat(filepath.Join(dir, f.String()+".elf")); err != nil {
			return false
		}
	}
	return true
}

// hashSources hashes the names and contents of the probe's sources.
func hashSources(src string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel == "out" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// BootModule is one multiboot module for BootOptions.
type BootModule struct {
	Path   string // must not contain a space (QEMU cannot pass one); commas are escaped
	String string // text after the path in the module's string; "" for none
}

// BootOptions describes one QEMU boot of a kernel.
type BootOptions struct {
	Kernel    string
	Append    string // the -append text, passed verbatim
	NoAppend  bool   // pass no -append at all
	Modules   []BootModule
	ExtraArgs []string      // more QEMU arguments (NICs, disks), appended last
	Memory    int           // MiB; 0 means 128
	Timeout   time.Duration // 0 means DefaultTimeout
	QEMU      string        // QEMU binary; "" picks qemu-system-i386 for ELF32, else qemu-system-x86_64
}

// QEMUArgs returns the QEMU arguments Boot uses for o (without the binary).
func QEMUArgs(o BootOptions) ([]string, error) {
	if o.Kernel == "" {
		return nil, errors.New("no kernel")
	}
	mem := o.Memory
	if mem == 0 {
		mem = 128
	}
	args := []string{
		"-accel", "tcg", "-m", fmt.Sprint(mem), "-nodefaults", "-vga", "none",
		"-display", "none", "-serial", "stdio", "-no-reboot",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", o.Kernel,
	}
	if !o.NoAppend {
		args = append(args, "-append", o.Append)
	}
	if len(o.Modules) > 0 {
		var mods []string
		for _, m := range o.Modules {
			if m.Path == "" || strings.ContainsAny(m.Path, " ") {
				return nil, fmt.Errorf("module path %q: QEMU cannot pass an empty path or one with a space", m.Path)
			}
			s := m.Path
			if m.String != "" {
				s += " " + m.String
			}
			mods = append(mods, strings.ReplaceAll(s, ",", ",,"))
		}
		args = append(args, "-initrd", strings.Join(mods, ","))
	}
	return append(args, o.ExtraArgs...), nil
}

// Boot boots o.Kernel in QEMU under TCG with the probe's serial console
// on standard output and returns what the probe reported.
func Boot(t testing.TB, o BootOptions) *Result {
	t.Helper()
	args, err := QEMUArgs(o)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	bin := o.QEMU
	if bin == "" {
		bin = "qemu-system-x86_64"
		if f, err := elf.Open(o.Kernel); err == nil {
			if f.Class == elf.ELFCLASS32 {
				bin = "qemu-system-i386"
			}
			f.Close()
		}
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not installed (Debian package qemu-system-x86)", bin)
	}
	return RunCmd(t, exec.Command(bin, args...), o.Timeout)
}

// Run runs a command that boots a probe (a launcher, sh -c ...) and
// returns what the probe reported on the command's standard output.
func Run(t testing.TB, name string, args ...string) *Result {
	t.Helper()
	return RunCmd(t, exec.Command(name, args...), 0)
}

// RunCmd is Run for a prepared command; it sets cmd's Stdout, Stderr and
// process group. timeout 0 means DefaultTimeout.
func RunCmd(t testing.TB, cmd *exec.Cmd, timeout time.Duration) *Result {
	t.Helper()
	if cmd.Err != nil {
		t.Fatalf("probe: %v", cmd.Err)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	slot, err := acquireSlot()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	defer slot.Close()
	r, err := run(cmd, timeout, haltGrace)
	if err != nil {
		out := []byte(nil)
		if r != nil {
			out = r.Output
		}
		t.Fatalf("probe: %s: %v\noutput so far:\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return r
}

// watcher collects output and notices when the probe has finished.
type watcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	done   chan struct{}
	closed bool
	doneAt time.Time // when the probe finished
}

func (w *watcher) finishedAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.doneAt
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Look at the new bytes and the line they may complete.
	from := max(w.buf.Len()-len("\n=== bootstrap failed\r\n"), 0)
	w.buf.Write(p)
	if !w.closed {
		b := w.buf.Bytes()
		tail := b[from:]
		if hasLine(tail, "halted") || bytes.HasPrefix(b, []byte("halted\n")) ||
			hasLine(tail, "=== bootstrap failed") {
			close(w.done)
			w.closed = true
			w.doneAt = time.Now()
		}
	}
	return len(p), nil
}

// hasLine reports whether b holds line s ending in "\n" (the probe) or
// "\r\n" (real rumprun kernels), after a newline.
func hasLine(b []byte, s string) bool {
	return bytes.Contains(b, []byte("\n"+s+"\n")) || bytes.Contains(b, []byte("\n"+s+"\r\n")) ||
		(strings.HasPrefix(s, "===") && (bytes.Contains(b, []byte(s+"\n")) || bytes.Contains(b, []byte(s+"\r\n"))))
}

func (w *watcher) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

// run runs cmd in its own process group; it kills the group after
// timeout (an error) or grace after the probe finished (Killed).
func run(cmd *exec.Cmd, timeout, grace time.Duration) (*Result, error) {
	stdout := &watcher{done: make(chan struct{})}
	var stderr bytes.Buffer
	cmd.Stdout = stdout
	cmd.Stderr = &stderr
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.WaitDelay = time.Second // children that keep stdout open must not block Wait
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var werr error
	killed, timedOut := false, false
	done := stdout.done
	var graceC <-chan time.Time
wait:
	for {
		select {
		case werr = <-exited:
			break wait
		case <-done:
			done = nil
			graceC = time.After(grace)
		case <-graceC:
			killed = true
			kill()
			werr = <-exited
			break wait
		case <-timer.C:
			timedOut = true
			kill()
			werr = <-exited
			break wait
		}
	}
	// Whatever the command left behind in its group goes too.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	out := stdout.bytes()
	r, perr := Parse(out)
	r.Stderr = stderr.Bytes()
	r.Duration = time.Since(start)
	if at := stdout.finishedAt(); !at.IsZero() {
		r.UntilDone = at.Sub(start)
	}
	r.Killed = killed
	r.ProcessExit = -1
	if cmd.ProcessState != nil {
		r.ProcessExit = cmd.ProcessState.ExitCode()
	}
	if timedOut {
		return r, fmt.Errorf("timed out after %v (stderr: %s)", timeout, bytes.TrimSpace(r.Stderr))
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) && !errors.Is(werr, exec.ErrWaitDelay) {
		return r, werr
	}
	if perr != nil {
		return r, perr
	}
	return r, nil
}

// Args returns the command line without the first word, which QEMU and
// GRUB set to the kernel's path: with QEMU, exactly the -append text.
func (r *Result) Args() string {
	_, rest, _ := strings.Cut(r.Cmdline, " ")
	return rest
}

// slot is one of the two machine-wide boot slots.
type slot struct{ f *os.File }

func (s slot) Close() error { return s.f.Close() } // closing drops the flock

// acquireSlot takes whichever of the two slot files is free, waiting
// while both are held.
func acquireSlot() (slot, error) {
	var files [2]*os.File
	for i := range files {
		f, err := os.OpenFile(slotPath(i), os.O_RDONLY|os.O_CREATE, 0o666)
		if err != nil {
			for _, g := range files[:i] {
				g.Close()
			}
			return slot{}, fmt.Errorf("boot slot: %w", err)
		}
		files[i] = f
	}
	for {
		for i, f := range files {
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil {
				files[1-i].Close()
				return slot{f}, nil
			}
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				files[0].Close()
				files[1].Close()
				return slot{}, fmt.Errorf("boot slot %s: %w", f.Name(), err)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slotPath(i int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("rumptools-probe-slot-%d.lock", i))
}
