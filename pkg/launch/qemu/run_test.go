package qemu

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/launch"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "fake-qemu")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of exec.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	c  chan struct{} // closed at the first write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		close(s.c)
		s.c = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const transcript = "probe: end\r\n=== calling \"app\" main() ===\r\n=== main() of \"app\" returned 5 ===\r\n=== ERROR: _exit(5) called ===\r\nhalted\r\n"

func TestRunStopsHaltedGuest(t *testing.T) {
	// Like a real rumprun kernel, the guest idles after "halted": Run must
	// stop QEMU with SIGTERM, and hide the message QEMU prints about it.
	fake := script(t, `trap 'echo "qemu-system-x86_64: terminating on signal 15 from pid $SENDER (rump-launch-qemu)" >&2; exit 0' TERM
echo "qemu-system-x86_64: warning: a message of its own" >&2
printf '`+strings.ReplaceAll(transcript, "\r\n", `\r\n`)+`'
while :; do sleep 0.05; done
`)
	t.Setenv("SENDER", fmt.Sprint(os.Getpid()))
	var stdout, stderr syncBuffer
	start := time.Now()
	res, err := Run(&Command{Path: fake}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > stopTimeout/2 {
		t.Errorf("took %v: QEMU was not stopped at halted", d)
	}
	if stdout.String() != transcript {
		t.Errorf("console %q", stdout.String())
	}
	if got := stderr.String(); got != "qemu-system-x86_64: warning: a message of its own\n" {
		t.Errorf("stderr %q", got)
	}
	want := launch.Outcome{Exited: true, Status: 5, Halted: true}
	if res.Outcome != want || res.QEMUExit != 0 {
		t.Errorf("result %+v", res)
	}
	if code, msg := res.Exit("qemu"); code != 5 || msg != "" {
		t.Errorf("Exit = %d, %q", code, msg)
	}
}

func TestRunKillsStubbornQEMU(t *testing.T) {
	defer func(d time.Duration) { stopTimeout = d }(stopTimeout)
	stopTimeout = 500 * time.Millisecond
	fake := script(t, `trap '' TERM
printf 'halted\n'
while :; do sleep 0.05; done
`)
	start := time.Now()
	res, err := Run(&Command{Path: fake}, &syncBuffer{}, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < stopTimeout || d > stopTimeout+5*time.Second {
		t.Errorf("took %v, want about the stop timeout (%v)", d, stopTimeout)
	}
	if res.QEMUExit != -1 {
		t.Errorf("QEMU exit %d, want -1 (killed)", res.QEMUExit)
	}
	if code, msg := res.Exit("qemu"); code != 1 || !strings.Contains(msg, "halted without calling _exit") {
		t.Errorf("Exit = %d, %q", code, msg)
	}
}

func TestRunQEMUEndsFirst(t *testing.T) {
	fake := script(t, `echo "qemu-system-x86_64: -device bogus: 'bogus' is not a valid device model name" >&2; exit 1`)
	var stderr syncBuffer
	res, err := Run(&Command{Path: fake}, &syncBuffer{}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "bogus") {
		t.Errorf("QEMU's message lost: %q", stderr.String())
	}
	if code, msg := res.Exit("qemu-system-x86_64"); code != 1 || msg != "qemu-system-x86_64 exited with status 1 before the guest halted" {
		t.Errorf("Exit = %d, %q", code, msg)
	}
	// A kernel that ends QEMU itself after its exit marker (isa-debug-exit).
	fake = script(t, `printf '=== _exit(9) called ===\n'; exit 19`)
	res, err = Run(&Command{Path: fake}, &syncBuffer{}, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := res.Exit("qemu"); code != 9 || res.QEMUExit != 19 {
		t.Errorf("Exit %d, QEMU exit %d", code, res.QEMUExit)
	}
}

func TestRunBootstrapFailed(t *testing.T) {
	fake := script(t, `printf 'probe: end\n=== bootstrap failed\n'; exec sleep 30`)
	start := time.Now()
	res, err := Run(&Command{Path: fake}, &syncBuffer{}, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("QEMU not stopped at bootstrap failure")
	}
	if code, msg := res.Exit("qemu"); code != 1 || msg != "=== bootstrap failed" {
		t.Errorf("Exit = %d, %q", code, msg)
	}
}

func TestRunInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		fake := script(t, `printf 'probe: end\n'; exec sleep 30`)
		stdout := &syncBuffer{c: make(chan struct{})}
		started := stdout.c
		go func() {
			<-started // Run listens for signals before QEMU starts
			syscall.Kill(os.Getpid(), sig)
		}()
		res, err := Run(&Command{Path: fake}, stdout, &syncBuffer{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Signal != sig || res.QEMUExit != -1 {
			t.Errorf("%v: result %+v", sig, res)
		}
		if code, msg := res.Exit("qemu"); code != 128+int(sig) || msg != "" {
			t.Errorf("%v: Exit = %d, %q", sig, code, msg)
		}
	}
}

func TestRunTemps(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// The fake checks the config file while it runs and writes the pid.
	fake := script(t, `prev=
for a in "$@"; do
	case $prev in
	-initrd) [ "$(cat "$a")" = '{"x":"y"}' ] || { echo "bad config file $a" >&2; exit 3; };;
	-pidfile) echo 777 >"$a";;
	esac
	prev=$a
done
`)
	c := &Command{Path: fake, Args: []string{"-initrd", "", "-daemonize", "-pidfile", ""}, Background: true,
		Temps: []Temp{{Name: "cfg", Data: []byte(`{"x":"y"}`), Arg: 1, Module: true}, {Name: "pid", Arg: 4}}}
	var stderr syncBuffer
	res, err := Run(c, &syncBuffer{}, &stderr)
	if err != nil {
		t.Fatalf("%v (%s)", err, stderr.String())
	}
	if res.PID != 777 {
		t.Errorf("PID %d", res.PID)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// The config module has no name: QEMU reads the file it inherits, so a
	// temporary directory with a space (which -initrd cannot carry) works.
	spaced := filepath.Join(tmp, "a b")
	os.Mkdir(spaced, 0o755)
	t.Setenv("TMPDIR", spaced)
	if _, err := Run(c, &syncBuffer{}, &stderr); err != nil {
		t.Errorf("TMPDIR with a space: %v (%s)", err, stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(spaced, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// QEMU failing to daemonize is an error with its status.
	failing := script(t, "exit 1")
	if _, err := Run(&Command{Path: failing, Background: true}, &syncBuffer{}, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "exited with status 1") {
		t.Errorf("failed daemonize: %v", err)
	}
}

// A guest that ends before the launcher reads the pid file: QEMU removes
// its pid file when it exits, so the fake writes its pid and removes the
// file, as a daemonized QEMU whose guest already finished does, before
// its parent exits. The guest ran: -d reports its pid, not a failure.
func TestRunBackgroundGuestAlreadyGone(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	fake := script(t, `prev=
for a in "$@"; do
	[ "$prev" = -pidfile ] && { echo 4242 >"$a" && rm "$a" || exit 3; }
	prev=$a
done
`)
	c := &Command{Path: fake, Args: []string{"-daemonize", "-pidfile", ""}, Background: true, Temps: []Temp{{Name: "pid", Arg: 2}}}
	var stderr syncBuffer
	res, err := Run(c, &syncBuffer{}, &stderr)
	if err != nil {
		t.Fatalf("%v (%s)", err, stderr.String())
	}
	if res.PID != 4242 {
		t.Errorf("PID %d, want 4242", res.PID)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// A QEMU that daemonized without writing its pid is an error.
	silent := script(t, "exit 0")
	if _, err := Run(&Command{Path: silent, Args: []string{"-daemonize", "-pidfile", ""}, Background: true, Temps: []Temp{{Name: "pid", Arg: 2}}},
		&syncBuffer{}, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), `pid file holds "", not a process id`) {
		t.Errorf("no pid written: %v", err)
	}
}

func TestStderrFilter(t *testing.T) {
	var out bytes.Buffer
	f := &stderrFilter{w: &out}
	f.Write([]byte("a: terminating on signal 15 from pid 1 (x)\nkeep"))
	f.dropLine("terminating on signal 15 from pid 1")
	f.Write([]byte(" this\nqemu: terminating on signal 15 from pid 1 (x)\nqemu: terminating on signal 15 from pid 12 (x)\ntail"))
	f.flush()
	if want := "a: terminating on signal 15 from pid 1 (x)\nkeep this\nqemu: terminating on signal 15 from pid 12 (x)\ntail"; out.String() != want {
		// The first line went out before the launcher sent its signal; pid
		// 12 is not the launcher.
		t.Errorf("filtered %q\nwant %q", out.String(), want)
	}
}

// A kernel told to hand its status to isa-debug-exit ends QEMU with
// 2N+1: without console markers that is the status; QEMU's own failure
// (1) and a kernel not told stay failures.
func TestExitFromQEMUStatus(t *testing.T) {
	for _, c := range []struct {
		r    Result
		code int
	}{
		{Result{ExitStatus: true, QEMUExit: 7}, 3},
		{Result{ExitStatus: true, QEMUExit: 1}, 1},
		{Result{ExitStatus: false, QEMUExit: 7}, 1},
		{Result{ExitStatus: true, QEMUExit: 8}, 1},
		{Result{ExitStatus: true, QEMUExit: 7, Outcome: launch.Outcome{Exited: true, Status: 42}}, 42},
	} {
		if code, _ := c.r.Exit("qemu"); code != c.code {
			t.Errorf("%+v: exit %d, want %d", c.r, code, c.code)
		}
	}
}
