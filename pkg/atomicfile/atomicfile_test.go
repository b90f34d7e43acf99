package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	sort.Strings(n)
	return n
}

// both runs a test with the anonymous file (where the system has it) and
// with the named fallback.
func both(t *testing.T, f func(t *testing.T, named bool)) {
	for _, named := range []bool{false, true} {
		t.Run(map[bool]string{false: "anonymous", true: "named"}[named], func(t *testing.T) {
			old := forceNamed
			forceNamed = named
			defer func() { forceNamed = old }()
			f(t, named)
		})
	}
}

func umask(t *testing.T, m int) {
	old := syscall.Umask(m)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestCommit(t *testing.T) {
	both(t, func(t *testing.T, named bool) {
		umask(t, 0o022)
		dir := t.TempDir()
		out := filepath.Join(dir, "out.img")
		f, err := Create(out, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, strings.NewReader("hello, ")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("world\n"); err != nil {
			t.Fatal(err)
		}
		// While pending: nothing at all (anonymous) or only the hidden
		// temporary file beside the output.
		during := names(t, dir)
		if named {
			if len(during) != 1 || !strings.HasPrefix(during[0], ".out.img.tmp") {
				t.Fatalf("while writing, directory holds %q, want one .out.img.tmp* file", during)
			}
			if f.Path() != filepath.Join(dir, during[0]) {
				t.Errorf("Path() = %q, want %q", f.Path(), filepath.Join(dir, during[0]))
			}
		} else if runtime.GOOS == "linux" && len(during) != 0 {
			t.Fatalf("while writing an anonymous file, directory holds %q", during)
		}
		if f.Name() != out {
			t.Errorf("Name() = %q, want %q", f.Name(), out)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := names(t, dir); len(got) != 1 || got[0] != "out.img" {
			t.Fatalf("after Commit directory holds %q", got)
		}
		data, _ := os.ReadFile(out)
		if string(data) != "hello, world\n" {
			t.Errorf("content %q", data)
		}
		st, _ := os.Stat(out)
		if st.Mode() != 0o644 {
			t.Errorf("mode %v, want -rw-r--r--", st.Mode())
		}
		if err := f.Abort(); err != nil {
			t.Errorf("Abort after Commit: %v", err)
		}
		if _, err := os.Stat(out); err != nil {
			t.Errorf("Abort after Commit removed the output: %v", err)
		}
		if err := f.Commit(); err == nil {
			t.Error("a second Commit succeeded")
		}
	})
}

func TestReplaceKeepsOldUntilCommit(t *testing.T) {
	both(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		out := filepath.Join(dir, "k")
		os.WriteFile(out, []byte("old"), 0o600)
		f, err := Create(out, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("new content")
		if data, _ := os.ReadFile(out); string(data) != "old" {
			t.Fatalf("before Commit the output reads %q", data)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(out); string(data) != "new content" {
			t.Fatalf("after Commit the output reads %q", data)
		}
		if got := names(t, dir); len(got) != 1 {
			t.Fatalf("after replacing, directory holds %q", got)
		}
	})
}

func TestAbort(t *testing.T) {
	both(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		fresh := filepath.Join(dir, "fresh")
		f, err := Create(fresh, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("partial")
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := names(t, dir); len(got) != 0 {
			t.Fatalf("after Abort directory holds %q", got)
		}

		old := filepath.Join(dir, "old")
		os.WriteFile(old, []byte("keep"), 0o644)
		f, err = Create(old, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("partial")
		f.Close() // Close is Abort
		if data, _ := os.ReadFile(old); string(data) != "keep" {
			t.Fatalf("Abort changed the existing output to %q", data)
		}
		if got := names(t, dir); len(got) != 1 {
			t.Fatalf("after Abort directory holds %q", got)
		}
		if err := f.Commit(); err == nil {
			t.Error("Commit after Abort succeeded")
		}
	})
}

func TestModeFollowsUmask(t *testing.T) {
	both(t, func(t *testing.T, named bool) {
		for _, c := range []struct {
			umask      int
			perm, want fs.FileMode
		}{{0o022, 0o755, 0o755}, {0o077, 0o755, 0o700}, {0o027, 0o644, 0o640}, {0o002, 0o666, 0o664}} {
			umask(t, c.umask)
			out := filepath.Join(t.TempDir(), "x")
			f, err := Create(out, c.perm)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("x")
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(out)
			if st.Mode().Perm() != c.want {
				t.Errorf("umask %03o, perm %v: mode %v, want %v", c.umask, c.perm, st.Mode().Perm(), c.want)
			}
		}
	})
}

// An output that is a pipe (or a device) is written, not replaced.
func TestNonRegularOutputWrittenDirectly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	got := make(chan string)
	go func() {
		data, _ := os.ReadFile(fifo)
		got <- string(data)
	}()
	f, err := Create(fifo, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("through the pipe")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if st, _ := os.Lstat(fifo); st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v", st.Mode())
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q", got)
	}

	f, err = Create(os.DevNull, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("discarded")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(os.DevNull); st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a device", os.DevNull)
	}
}

func TestCreateErrors(t *testing.T) {
	both(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		if _, err := Create(dir, 0o644); !errors.Is(err, syscall.EISDIR) || !strings.Contains(err.Error(), dir) {
			t.Errorf("a directory as output: %v", err)
		}
		missing := filepath.Join(dir, "no", "such", "out")
		_, err := Create(missing, 0o644)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Errorf("output in a missing directory: %v, want the output's name and not found", err)
		}
		if _, err := Create("", 0o644); err == nil {
			t.Error("empty name accepted")
		}
	})
}

// Path lets another program write the pending file.
func TestPathForOtherPrograms(t *testing.T) {
	both(t, func(t *testing.T, named bool) {
		out := filepath.Join(t.TempDir(), "fs.img")
		f, err := Create(out, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Abort()
		cmd := exec.Command("sh", "-c", `printf 'written by sh' > "$1"`, "sh", f.Path())
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sh writing %s: %v: %s", f.Path(), err, msg)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(out); string(data) != "written by sh" {
			t.Errorf("content %q", data)
		}
	})
}

// The child side of the signal tests: the test binary run again with
// ATOMICFILE_HELPER set creates what it is told, says "ready", and waits
// for its standard input to close before committing.
func TestMain(m *testing.M) {
	if mode := os.Getenv("ATOMICFILE_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Getenv("ATOMICFILE_OUT")))
	}
	os.Exit(m.Run())
}

func helper(mode, out string) int {
	forceNamed = strings.Contains(mode, "named")
	var release func()
	if strings.Contains(mode, "tree") {
		tree := filepath.Join(filepath.Dir(out), "work")
		os.MkdirAll(filepath.Join(tree, "sub"), 0o755)
		os.WriteFile(filepath.Join(tree, "sub", "obj.o"), []byte("object"), 0o644)
		release = RemoveOnSignal(tree)
	}
	f, err := Create(out, 0o644)
	if err != nil {
		fmt.Println(err)
		return 3
	}
	f.Write(bytes.Repeat([]byte("x"), 1<<16))
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	if release != nil {
		release()
	}
	if err := f.Commit(); err != nil {
		fmt.Println(err)
		return 3
	}
	return 0
}

// start runs the helper and waits until its file is pending.
func start(t *testing.T, mode, out, shell string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if shell != "" {
		cmd = exec.Command("sh", "-c", shell+`; exec "$0"`, self)
	} else {
		cmd = exec.Command(self)
	}
	cmd.Env = append(os.Environ(), "ATOMICFILE_HELPER="+mode, "ATOMICFILE_OUT="+out)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	return cmd, stdin
}

func TestSignalRemovesPending(t *testing.T) {
	for _, c := range []struct {
		mode string
		sig  syscall.Signal
	}{
		{"named", syscall.SIGINT},
		{"named", syscall.SIGTERM},
		{"named", syscall.SIGHUP},
		{"named tree", syscall.SIGINT},
		{"anonymous", syscall.SIGINT},
		{"anonymous tree", syscall.SIGTERM},
		{"anonymous", syscall.SIGKILL},
	} {
		t.Run(c.mode+" "+c.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			cmd, stdin := start(t, c.mode, out, "")
			defer stdin.Close()
			if c.mode == "named" {
				if got := names(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], ".out.tmp") {
					t.Fatalf("helper's directory holds %q, want its temporary file", got)
				}
			}
			cmd.Process.Signal(c.sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("helper ended with %v, want death by %v", err, c.sig)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != c.sig {
				t.Errorf("helper ended with %v, want death by %v", ee, c.sig)
			}
			if got := names(t, dir); len(got) != 0 {
				t.Errorf("after %v the directory holds %q", c.sig, got)
			}
		})
	}
}

// A program started with SIGINT ignored (a shell's background job) keeps
// ignoring it while a named file is pending.
func TestIgnoredSignalStaysIgnored(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cmd, stdin := start(t, "named", out, `trap "" INT`)
	cmd.Process.Signal(syscall.SIGINT)
	// The helper commits once its input closes; had SIGINT killed it, the
	// output would be missing and Wait would report the signal.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper with SIGINT ignored: %v", err)
	}
	if got := names(t, dir); len(got) != 1 || got[0] != "out" {
		t.Errorf("directory holds %q, want only out", got)
	}
}

// After the last pending file is committed the handler is gone: SIGINT
// kills the process the usual way.
func TestHandlerRemovedAfterCommit(t *testing.T) {
	old := forceNamed
	forceNamed = true
	defer func() { forceNamed = old }()
	f, err := Create(filepath.Join(t.TempDir(), "x"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	armed := sigc != nil || signalsIgnored()
	mu.Unlock()
	if !armed {
		t.Fatal("no handler while a named file is pending")
	}
	release := RemoveOnSignal(t.TempDir())
	f.Commit()
	mu.Lock()
	armed = sigc != nil
	mu.Unlock()
	if !armed && !signalsIgnored() {
		t.Fatal("handler gone while a directory is still registered")
	}
	release()
	release()
	mu.Lock()
	defer mu.Unlock()
	if sigc != nil || len(pending) != 0 {
		t.Fatalf("handler installed (%v) or paths pending (%v) after commit and release", sigc != nil, pending)
	}
}

func signalsIgnored() bool {
	for _, s := range terminating {
		if !signal.Ignored(s) {
			return false
		}
	}
	return true
}

// A symbolic link at the output's name is replaced, and what it pointed
// to is left alone.
func TestSymlinkReplaced(t *testing.T) {
	both(t, func(t *testing.T, named bool) {
		dir := t.TempDir()
		target := filepath.Join(dir, "v1")
		os.WriteFile(target, []byte("v1"), 0o644)
		link := filepath.Join(dir, "current")
		os.Symlink("v1", link)
		f, err := Create(link, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("v2")
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Lstat(link); !st.Mode().IsRegular() {
			t.Errorf("%s is %v, want a regular file", link, st.Mode())
		}
		if data, _ := os.ReadFile(target); string(data) != "v1" {
			t.Errorf("the link's target changed to %q", data)
		}
		if data, _ := os.ReadFile(link); string(data) != "v2" {
			t.Errorf("output %q", data)
		}
	})
}

// Work files have no name in the temporary directory, and another
// program writes and reads them by the path Work gives.
func TestWork(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	w := NewWork("test-")
	p, err := w.Path("out")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := w.Path("out"); again != p {
		t.Errorf("Path gave %s, then %s", p, again)
	}
	if out, err := exec.Command("sh", "-c", `printf hello >"$1" && cat "$1"`, "sh", p).CombinedOutput(); err != nil || string(out) != "hello" {
		t.Fatalf("a program using %s: %v, %q", p, err, out)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "hello" {
		t.Errorf("read back %q, %v", b, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("TMPDIR holds %s", left[0].Name())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Errorf("%s still opens after Close", p)
	}
}
