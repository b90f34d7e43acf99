package probe

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunExitStatusAndOutput(t *testing.T) {
	r := Run(t, "sh", "-c", `printf 'launching\nprobe: loader x\nprobe: end\n=== bootstrap failed\n'; echo oops >&2; exit 4`)
	if r.ProcessExit != 4 || r.Killed || !r.BootstrapFailed || r.Loader != "x" || string(r.Stderr) != "oops\n" ||
		len(r.Other) != 1 || r.Other[0] != "launching" {
		t.Errorf("%+v", r)
	}
}

// A command that keeps running after the probe halted (QEMU without
// isa-debug-exit) is stopped, with its children.
func TestRunStopsAfterHalt(t *testing.T) {
	pidfile := t.TempDir() + "/pid"
	cmd := exec.Command("sh", "-c", `sleep 60 & echo $! > "$1"; printf 'probe: end\nhalted\n'; wait`, "sh", pidfile)
	r, err := run(cmd, 30*time.Second, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Killed || r.ProcessExit != -1 || !r.Halted || r.Duration > 20*time.Second {
		t.Errorf("killed %v, exit %d, halted %v, took %v", r.Killed, r.ProcessExit, r.Halted, r.Duration)
	}
	checkGone(t, pidfile)
}

func TestRunTimeout(t *testing.T) {
	pidfile := t.TempDir() + "/pid"
	cmd := exec.Command("sh", "-c", `sleep 60 & echo $! > "$1"; echo 'probe: loader slow'; wait`, "sh", pidfile)
	r, err := run(cmd, 300*time.Millisecond, time.Second)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if r == nil || r.Loader != "slow" || string(r.Output) != "probe: loader slow\n" {
		t.Errorf("output so far not kept: %+v", r)
	}
	checkGone(t, pidfile)
}

// checkGone checks that the process whose pid is in pidfile has ended.
func checkGone(t *testing.T, pidfile string) {
	t.Helper()
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The killed child may linger briefly as a zombie of init.
	for i := 0; i < 100; i++ {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("child %d still running", pid)
}

func TestSlotIsExclusive(t *testing.T) {
	s, err := acquireSlot()
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.Open(s.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("slot %s not locked: flock gave %v", s.f.Name(), err)
	}
	s.Close()
	// Released: it can be taken now (unless another test process took it
	// meanwhile, which is allowed; then try again shortly).
	for i := 0; ; i++ {
		err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if i == 500 {
			t.Fatalf("slot never released: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The end of a boot is noticed however the output is split into writes.
func TestWatcherSplitWrites(t *testing.T) {
	for _, out := range []string{"probe: end\nhalted\n", "halted\n", "x\n=== bootstrap failed\n"} {
		w := &watcher{done: make(chan struct{})}
		for i := 0; i < len(out); i++ {
			select {
			case <-w.done:
				t.Fatalf("%q: done after %d bytes", out, i)
			default:
			}
			w.Write([]byte{out[i]})
		}
		select {
		case <-w.done:
		default:
			t.Errorf("%q: end not noticed", out)
		}
	}
	w := &watcher{done: make(chan struct{})}
	w.Write([]byte("not halted\nhalted yet\n"))
	select {
	case <-w.done:
		t.Error("a line that only contains \"halted\" ended the boot")
	default:
	}
}
