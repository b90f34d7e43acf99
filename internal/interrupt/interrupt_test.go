package interrupt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/bake/baketest"
	"github.com/rumptools/rumptools/pkg/xl"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

var binDir string // the tools, built once for the test binary

var tools = []string{"rump-bake", "rump-initrd", "rump-mkiso", "rump-launch-ec2", "rump-launch-gce", "rump-launch-xen"}

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" {
		fmt.Println("interrupt: skipped: the traps need Linux (leases, /proc)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "rumptools-interrupt-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// needTools builds the tools on first use. It reads every source file they
// are built from first: go test caches a result by the files the test
// reads, and would otherwise miss a change in a tool (the build is another
// process).
func needTools(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() { buildErr = buildTools() })
	if buildErr != nil {
		t.Fatal("building the tools: ", buildErr)
	}
}

func buildTools() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if err := readSources(root); err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-o", binDir + "/"}
	for _, t := range tools {
		args = append(args, "./"+t)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

// readSources reads go.mod, go.sum and the non-test Go files of pkg/ and
// the tools' directories.
func readSources(root string) error {
	files := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	dirs := []string{filepath.Join(root, "pkg")}
	for _, t := range tools {
		dirs = append(dirs, filepath.Join(root, t))
	}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, f := range files {
		if _, err := os.ReadFile(f); err != nil {
			return err
		}
	}
	return nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod above " + dir)
		}
		dir = filepath.Dir(dir)
	}
}

// proc is a tool started in its own process group, so that programs it
// leaves behind (a stand-in still waiting) can be ended with it.
type proc struct {
	cmd    *exec.Cmd
	errf   *os.File
	exited chan struct{}
	err    error
}

// stderr returns what the tool wrote to its standard error.
func (p *proc) stderr() string {
	b, _ := os.ReadFile(p.errf.Name())
	return string(b)
}

func start(t *testing.T, tool string, args, env []string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(filepath.Join(binDir, tool), args...), exited: make(chan struct{})}
	p.cmd.Env = env
	// A file, not a pipe: Wait must not wait for a stand-in the tool left
	// behind that holds the other end.
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	p.errf = f
	p.cmd.Stderr = f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		// Whatever the tool left running in its group (it is gone).
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	})
	return p
}

// wait returns how the tool ended.
func (p *proc) wait() syscall.WaitStatus {
	<-p.exited
	return p.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// done reports whether the tool has ended.
func (p *proc) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// run runs a tool to completion; it must succeed.
func run(t *testing.T, tool string, args, env []string) {
	t.Helper()
	p := start(t, tool, args, env)
	if ws := p.wait(); ws.ExitStatus() != 0 {
		t.Fatalf("%s %q: %v\n%s", tool, args, p.err, p.stderr())
	}
}

// ls returns the names in dir.
func ls(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func hashFile(t *testing.T, name string) [32]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// pending finds the file the tool is writing in dir for the output named
// file: an O_TMPFILE file without a name (/proc shows it as "DIR/#INODE
// (deleted)"), or where the file system has none, the named temporary
// file ".FILE.tmp*" (returned as named). ok is false when there is none.
func pending(t *testing.T, pid int, dir, file string) (size int64, named string, ok bool) {
	t.Helper()
	fds := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fds)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(fds, e.Name()))
		if err != nil {
			continue
		}
		anon := strings.HasPrefix(target, dir+"/#") && strings.HasSuffix(target, " (deleted)")
		temp := filepath.Dir(target) == dir && strings.HasPrefix(filepath.Base(target), "."+file+".tmp")
		if !anon && !temp {
			continue
		}
		st, err := os.Stat(filepath.Join(fds, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if temp {
			named = filepath.Base(target)
		}
		return st.Size(), named, true
	}
	return 0, "", false
}

// A trap stops a tool at a known point of its work.
type trap interface {
	env() []string                   // additions to the tool's environment
	wait(t *testing.T, p *proc) bool // returns once the tool is stopped there; false if it ended first
	release()                        // lets it go on
}

// leaseTrap: the tool's open of a file blocks while the test holds a
// write lease on it (fcntl(2) F_SETLEASE); the lease shows the break.
type leaseTrap struct{ f *os.File }

const (
	fSetLease = 1024
	fGetLease = 1025
	fWrLck    = 1
)

func newLeaseTrap(t *testing.T, path string) *leaseTrap {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetLease, fWrLck); e != 0 {
		f.Close()
		t.Skipf("cannot take a lease on %s (fcntl F_SETLEASE: %v): the file system has no leases", path, e)
	}
	return &leaseTrap{f: f}
}

func (l *leaseTrap) env() []string { return nil }

func (l *leaseTrap) wait(t *testing.T, p *proc) bool {
	for !p.done() {
		typ, _, e := syscall.Syscall(syscall.SYS_FCNTL, l.f.Fd(), fGetLease, 0)
		if e != 0 {
			t.Fatal("fcntl F_GETLEASE:", e)
		}
		if typ != fWrLck { // being broken: an open waits for us
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

func (l *leaseTrap) release() { l.f.Close() } // a second Close does nothing

// programTrap puts a stand-in for prog first on PATH: it runs the real
// program and, when its arguments contain match, says so and waits on a
// FIFO that only release opens.
type programTrap struct {
	bin, ready, fifo string
}

func newProgramTrap(t *testing.T, prog, match string) *programTrap {
	t.Helper()
	real, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("%s not installed", prog)
	}
	dir := t.TempDir()
	p := &programTrap{bin: filepath.Join(dir, "bin"), ready: filepath.Join(dir, "ready"), fifo: filepath.Join(dir, "fifo")}
	if err := os.Mkdir(p.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`#!/bin/sh
%s "$@" || exit
case " $* " in *%s*)
	: > %s
	read _ < %s ;;
esac
`, shq(real), shq(match), shq(p.ready), shq(p.fifo))
	if err := os.WriteFile(filepath.Join(p.bin, prog), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (p *programTrap) env() []string { return []string{"PATH=" + p.bin + ":" + os.Getenv("PATH")} }

func (p *programTrap) wait(t *testing.T, pr *proc) bool {
	for !pr.done() {
		if _, err := os.Stat(p.ready); err == nil {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

func (p *programTrap) release() {
	// A stand-in still waits in open(2): opening the other end frees it.
	if f, err := os.OpenFile(p.fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

// writer describes one tool's interrupted write.
type writer struct {
	tool string
	file string                    // the output's base name
	args func(out string) []string // the command line writing out
	trap func(t *testing.T) trap   // armed before each interrupted run
	// mid checks that the trap holds the tool mid-write; it returns the
	// name of a named temporary output file ("" when none).
	mid func(t *testing.T, p *proc, w *writer, outDir, tmp string) string
}

// outputPending checks that the tool has begun its output: a pending file
// in the output's directory that holds data already.
func outputPending(t *testing.T, p *proc, w *writer, outDir, tmp string) string {
	t.Helper()
	size, named, ok := pending(t, p.cmd.Process.Pid, outDir, w.file)
	if !ok {
		t.Fatalf("trapped with no output file pending in %s", outDir)
	}
	if size == 0 {
		t.Fatal("trapped with an empty output: not mid-write")
	}
	how := "an anonymous (O_TMPFILE) file"
	if named != "" {
		how = "the named temporary file " + named + " (no O_TMPFILE here)"
	}
	t.Logf("trapped mid-write: %d bytes written to %s", size, how)
	return named
}

// interrupt runs w uninterrupted for reference, then for SIGINT and for
// SIGKILL: trapped mid-write, signalled, checked for leftovers, rerun.
func interrupt(t *testing.T, w writer) {
	tmp := t.TempDir()
	env := append(os.Environ(), "TMPDIR="+tmp, "SOURCE_DATE_EPOCH=1700000000")
	ref := filepath.Join(t.TempDir(), w.file)
	run(t, w.tool, w.args(ref), env)
	want := hashFile(t, ref)
	refMode, _ := os.Stat(ref)

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(strings.TrimPrefix(sigName(sig), "SIG"), func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, w.file)
			tr := w.trap(t)
			p := start(t, w.tool, w.args(out), append(append([]string{}, env...), tr.env()...))
			t.Cleanup(tr.release) // before the tool's group is killed, on any failure
			if !tr.wait(t, p) {
				tr.release()
				t.Fatalf("%s ended before reaching the trap: %v\n%s", w.tool, p.err, p.stderr())
			}
			named := w.mid(t, p, &w, outDir, tmp)
			p.cmd.Process.Signal(sig)
			ws := p.wait()
			tr.release()
			switch {
			case ws.Signaled() && ws.Signal() == sig:
			case sig == syscall.SIGINT && ws.Exited() && ws.ExitStatus() == 128+int(sig):
			default:
				t.Errorf("after %s the tool ended with %v, want death by the signal\n%s", sigName(sig), p.err, p.stderr())
			}
			for _, name := range ls(t, outDir) {
				if sig == syscall.SIGKILL && name == named {
					t.Logf("SIGKILL left the named temporary file %s: this file system has no O_TMPFILE", name)
				} else {
					t.Errorf("after %s the output directory holds %s", sigName(sig), name)
				}
				os.Remove(filepath.Join(outDir, name))
			}
			// Work files that other programs write have no name either.
			for _, name := range ls(t, tmp) {
				t.Errorf("after %s TMPDIR holds %s", sigName(sig), name)
				os.RemoveAll(filepath.Join(tmp, name))
			}

			run(t, w.tool, w.args(out), env)
			if left := ls(t, outDir); len(left) != 1 || left[0] != w.file {
				t.Errorf("after the rerun the output directory holds %q", left)
			}
			if hashFile(t, out) != want {
				t.Error("the rerun wrote different bytes from an uninterrupted run")
			}
			if st, _ := os.Stat(out); st.Mode() != refMode.Mode() {
				t.Errorf("mode %v after the rerun, %v uninterrupted", st.Mode(), refMode.Mode())
			}
		})
	}
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return s.String()
}

// bigFile writes n bytes that do not compress to nothing.
func bigFile(t *testing.T, name string, n int) {
	t.Helper()
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rump-initrd opens each file when it writes its data: it blocks opening
// the last one with the first one's 4 MiB written.
func TestInitrd(t *testing.T) {
	needTools(t)
	src := t.TempDir()
	bigFile(t, filepath.Join(src, "aa-big"), 4<<20)
	last := filepath.Join(src, "zz-last")
	os.WriteFile(last, []byte("last file\n"), 0o644)
	interrupt(t, writer{
		tool: "rump-initrd", file: "root.initrd",
		args: func(out string) []string { return []string{"-o", out, src} },
		trap: func(t *testing.T) trap { return newLeaseTrap(t, last) },
		mid:  outputPending,
	})
}

// rump-mkiso -d opens each file when it writes its data.
func TestMkisoData(t *testing.T) {
	needTools(t)
	src := t.TempDir()
	bigFile(t, filepath.Join(src, "aa-big"), 4<<20)
	last := filepath.Join(src, "zz-last")
	os.WriteFile(last, []byte("last file\n"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(src, "outside"))
	interrupt(t, writer{
		tool: "rump-mkiso", file: "data.iso",
		args: func(out string) []string { return []string{"-d", src, "-o", out} },
		trap: func(t *testing.T) trap { return newLeaseTrap(t, last) },
		mid:  outputPending,
	})
}

// rump-launch-ec2 -o makes a PV volume with mke2fs writing the pending
// file; its stand-in waits after mke2fs has written the file system.
func TestEC2Image(t *testing.T) {
	needTools(t)
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skip("debugfs not installed (Debian package e2fsprogs)")
	}
	k := xltest.Kernel{Xen: true, Programs: []string{"hello"}}.Write(t, t.TempDir(), "app.bin")
	interrupt(t, writer{
		tool: "rump-launch-ec2", file: "volume.img",
		args: func(out string) []string { return []string{"-o", out, k} },
		trap: func(t *testing.T) trap { return newProgramTrap(t, "mke2fs", "") },
		mid: func(t *testing.T, p *proc, w *writer, outDir, tmp string) string {
			workFiles(t, p, tmp, 4) // the volume's files and debugfs's script
			return outputPending(t, p, w, outDir, tmp)
		},
	})
}

// rump-launch-ec2 -o - (as for an upload) makes the volume in a work file
// first; its stand-in mke2fs waits after writing the file system.
func TestEC2Upload(t *testing.T) {
	needTools(t)
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skip("debugfs not installed (Debian package e2fsprogs)")
	}
	k := xltest.Kernel{Xen: true, Programs: []string{"hello"}}.Write(t, t.TempDir(), "app.bin")
	workOnly(t, "rump-launch-ec2", []string{"-o", "-", k}, func(t *testing.T) trap { return newProgramTrap(t, "mke2fs", "") }, 5)
}

// rump-mkiso has grub-mkimage write GRUB's core image to a work file; its
// stand-in waits after writing it.
func TestMkisoGRUB(t *testing.T) {
	needTools(t)
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("grub-mkimage not installed (Debian packages grub-pc-bin and grub-common)")
	}
	k := xltest.Kernel{Programs: []string{"hello"}}.Write(t, t.TempDir(), "app.bin")
	interrupt(t, writer{
		tool: "rump-mkiso", file: "app.iso",
		args: func(out string) []string { return []string{"-o", out, k} },
		trap: func(t *testing.T) trap { return newProgramTrap(t, "grub-mkimage", "") },
		mid: func(t *testing.T, p *proc, w *writer, outDir, tmp string) string {
			workFiles(t, p, tmp, 1)
			if left := ls(t, outDir); len(left) != 0 {
				t.Fatalf("the output directory holds %q before the image is laid out", left)
			}
			return ""
		},
	})
}

// rump-launch-gce -o lays out the boot disk (grub-mkimage writing GRUB's
// core image to a work file) before it writes the archive.
func TestGCEArchive(t *testing.T) {
	needTools(t)
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("grub-mkimage not installed (Debian packages grub-pc-bin and grub-common)")
	}
	k := xltest.Kernel{Programs: []string{"hello"}}.Write(t, t.TempDir(), "app.bin")
	interrupt(t, writer{
		tool: "rump-launch-gce", file: "app.tar.gz",
		args: func(out string) []string { return []string{"-o", out, k} },
		trap: func(t *testing.T) trap { return newProgramTrap(t, "grub-mkimage", "") },
		mid: func(t *testing.T, p *proc, w *writer, outDir, tmp string) string {
			workFiles(t, p, tmp, 1)
			if left := ls(t, outDir); len(left) != 0 {
				t.Fatalf("the output directory holds %q before the disk is laid out", left)
			}
			return ""
		},
	})
}

// workFiles checks that the trapped tool holds n work files in tmp, none
// of which has a name there.
func workFiles(t *testing.T, p *proc, tmp string, n int) {
	t.Helper()
	if left := ls(t, tmp); len(left) != 0 {
		t.Fatalf("TMPDIR holds %q mid-run", left)
	}
	if got := unnamedIn(t, p.cmd.Process.Pid, tmp); got != n {
		t.Fatalf("the tool holds %d unnamed files in TMPDIR, want %d work files", got, n)
	}
}

// unnamedIn counts the files without a name in dir that process pid holds
// open: O_TMPFILE files ("DIR/#INODE (deleted)") and files removed as soon
// as made ("DIR/NAME (deleted)").
func unnamedIn(t *testing.T, pid int, dir string) int {
	t.Helper()
	fds := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fds)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(fds, e.Name()))
		if err == nil && filepath.Dir(target) == dir && strings.HasSuffix(target, " (deleted)") {
			n++
		}
	}
	return n
}

// workOnly runs a tool that writes no output file of its own (it streams
// to standard output or to a service): trapped while another program
// writes its work files, then SIGINT or SIGKILL, and nothing may be left
// in TMPDIR.
func workOnly(t *testing.T, tool string, args []string, newTrap func(*testing.T) trap, files int) {
	tmp := t.TempDir()
	env := append(os.Environ(), "TMPDIR="+tmp, "SOURCE_DATE_EPOCH=1700000000")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(strings.TrimPrefix(sigName(sig), "SIG"), func(t *testing.T) {
			tr := newTrap(t)
			p := start(t, tool, args, append(append([]string{}, env...), tr.env()...))
			t.Cleanup(tr.release)
			if !tr.wait(t, p) {
				tr.release()
				t.Fatalf("%s ended before reaching the trap: %v\n%s", tool, p.err, p.stderr())
			}
			workFiles(t, p, tmp, files)
			p.cmd.Process.Signal(sig)
			ws := p.wait()
			tr.release()
			if !(ws.Signaled() && ws.Signal() == sig) && !(sig == syscall.SIGINT && ws.Exited() && ws.ExitStatus() == 128+int(sig)) {
				t.Errorf("after %s the tool ended with %v, want death by the signal\n%s", sigName(sig), p.err, p.stderr())
			}
			for _, name := range ls(t, tmp) {
				t.Errorf("after %s TMPDIR holds %s", sigName(sig), name)
				os.RemoveAll(filepath.Join(tmp, name))
			}
		})
	}
}

// rump-bake links in a work directory (the linker needs file names) and
// then writes the stamped kernel: its stand-in backing compiler waits
// after the link, with the unstamped kernel in the work directory.
func TestBake(t *testing.T) {
	needTools(t)
	tc := baketest.Toolchain(t, "hw")
	obj := baketest.ProgramIn(t, t.TempDir(), tc, "app", 0)
	interrupt(t, writer{
		tool: "rump-bake", file: "app.bin",
		args: func(out string) []string { return []string{"-q", "-o", out, obj} },
		trap: func(t *testing.T) trap { return newProgramTrap(t, "gcc", " -specs=") },
		mid: func(t *testing.T, p *proc, w *writer, outDir, tmp string) string {
			workFiles(t, p, tmp, 2) // the renamed object and the linked kernel
			return ""
		},
	})
}

// rump-launch-xen writes its xl file in one write before it runs xl: the
// file cannot be caught half-written, but an interrupted launch must
// leave it whole (it is the domain's state, kept on purpose) and no
// temporary file, and a relaunch must write the same file.
func TestXenState(t *testing.T) {
	needTools(t)
	k := xltest.Kernel{Xen: true, Programs: []string{"httpd"}}.Write(t, t.TempDir(), "web.bin")
	tmp := t.TempDir()
	args := func(state string) []string { return []string{"-i", "-s", state, "-N", "web", k, "--", "-p", "80"} }
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(strings.TrimPrefix(sigName(sig), "SIG"), func(t *testing.T) {
			ts := xltest.NewToolstack(t) // on PATH through the environment
			state := t.TempDir()
			file := filepath.Join(state, "web.cfg")
			p := start(t, "rump-launch-xen", args(state), append(os.Environ(), "TMPDIR="+tmp))
			// Trapped: the stand-in "xl console" waits for the domain to be
			// destroyed.
			for !consoleCalled(ts) {
				if p.done() {
					t.Fatalf("the launch ended before xl console: %v\n%s", p.err, p.stderr())
				}
				time.Sleep(2 * time.Millisecond)
			}
			first, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p.cmd.Process.Signal(sig)
			ws := p.wait()
			switch {
			case sig == syscall.SIGINT && ws.Exited() && ws.ExitStatus() == 130:
			case sig == syscall.SIGKILL && ws.Signaled() && ws.Signal() == sig:
			default:
				t.Errorf("after %s the launcher ended with %v\n%s", sigName(sig), p.err, p.stderr())
			}
			if left := ls(t, state); len(left) != 1 || left[0] != "web.cfg" {
				t.Errorf("after %s the state directory holds %q, want web.cfg alone", sigName(sig), left)
			}
			after, _ := os.ReadFile(file)
			if !bytes.Equal(after, first) {
				t.Errorf("the xl file changed after %s", sigName(sig))
			}
			if _, err := xl.Parse(file, after); err != nil {
				t.Errorf("the xl file left after %s does not parse: %v", sigName(sig), err)
			}
			if sig == syscall.SIGINT && !destroyed(ts) {
				t.Error("SIGINT did not destroy the domain")
			}
			if left := ls(t, tmp); len(left) != 0 {
				t.Errorf("after %s TMPDIR holds %q", sigName(sig), left)
			}

			// Relaunch: the same file again.
			ts.Reset()
			ts.Console("=== _exit(0) called ===\n", true)
			r := start(t, "rump-launch-xen", args(state), append(os.Environ(), "TMPDIR="+tmp))
			if ws := r.wait(); ws.ExitStatus() != 0 {
				t.Fatalf("relaunch: %v\n%s", r.err, r.stderr())
			}
			again, _ := os.ReadFile(file)
			if !bytes.Equal(again, first) {
				t.Errorf("the relaunch wrote a different xl file:\n%s\nfirst:\n%s", again, first)
			}
			if left := ls(t, state); len(left) != 1 {
				t.Errorf("after the relaunch the state directory holds %q", left)
			}
		})
	}
}

// consoleCalled reports whether the stand-in "xl console" has started:
// it keeps its standard input in console.stdin. (Toolstack.Calls would
// consume the records, and may read one before it is written.)
func consoleCalled(ts *xltest.Toolstack) bool {
	_, err := os.Stat(filepath.Join(ts.Dir, "console.stdin"))
	return err == nil
}

func destroyed(ts *xltest.Toolstack) bool {
	_, err := os.Stat(filepath.Join(ts.Dir, "destroyed"))
	return err == nil
}
