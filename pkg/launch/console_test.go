package launch

import (
	"bytes"
	"errors"
	"testing"
)

const transcript = "probe: loader qemu\r\n" +
	"probe: end\r\n" +
	"=== calling \"probe\" main() ===\r\n" +
	"=== main() of \"probe\" returned 3 ===\r\n" +
	"=== ERROR: _exit(3) called ===\r\n" +
	"halted\r\n"

func TestWatcherEverySplit(t *testing.T) {
	// Feed the transcript in two writes split at every byte: output must be
	// unchanged and the outcome the same, with onDone called exactly once,
	// at the write that completes "halted".
	for cut := 0; cut <= len(transcript); cut++ {
		var out bytes.Buffer
		calls := 0
		var got Outcome
		w := NewWatcher(&out, func(o Outcome) { calls++; got = o })
		w.Write([]byte(transcript[:cut]))
		if calls != 0 && cut < len(transcript) {
			t.Fatalf("cut %d: onDone before the halted line was complete", cut)
		}
		w.Write([]byte(transcript[cut:]))
		if out.String() != transcript {
			t.Fatalf("cut %d: output changed:\n%q", cut, out.String())
		}
		want := Outcome{Exited: true, Status: 3, Halted: true}
		if calls != 1 || got != want || w.Outcome() != want {
			t.Fatalf("cut %d: calls %d, onDone %+v, Outcome %+v; want %+v", cut, calls, got, w.Outcome(), want)
		}
	}
}

func TestWatcherMarkers(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     Outcome
		done     bool
	}{
		{"exit 0", "=== _exit(0) called ===\nhalted\n", Outcome{Exited: true, Status: 0, Halted: true}, true},
		{"error exit", "=== ERROR: _exit(255) called ===\nhalted\n", Outcome{Exited: true, Status: 255, Halted: true}, true},
		{"last exit wins", "=== _exit(1) called ===\n=== _exit(2) called ===\n", Outcome{Exited: true, Status: 2}, false},
		{"halted without exit", "panic: oops\nhalted\n", Outcome{Halted: true}, true},
		{"bootstrap failed", "probe: end\n=== bootstrap failed\nhalted\n", Outcome{Halted: true, BootstrapFailed: "=== bootstrap failed"}, true},
		{"bootstrap failed with text", "=== bootstrap failed: bad config\r\n", Outcome{BootstrapFailed: "=== bootstrap failed: bad config"}, true},
		{"no line end yet", "halted", Outcome{}, false},
		{"program prints halted inside a line", "not halted\nhalted already\n", Outcome{}, false},
		{"malformed status", "=== _exit(x) called ===\n=== _exit() called ===\n", Outcome{}, false},
		{"marker in a long line", string(bytes.Repeat([]byte("x"), 600)) + "halted\n", Outcome{}, false},
		{"long line then marker", string(bytes.Repeat([]byte("x"), 600)) + "\nhalted\n", Outcome{Halted: true}, true},
	} {
		var out bytes.Buffer
		done := false
		w := NewWatcher(&out, func(Outcome) { done = true })
		w.Write([]byte(c.in))
		if got := w.Outcome(); got != c.want || done != c.done || got.Done() != c.done {
			t.Errorf("%s: Outcome %+v (onDone %v), want %+v (onDone %v)", c.name, got, done, c.want, c.done)
		}
		if out.String() != c.in {
			t.Errorf("%s: output changed", c.name)
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) { f.n++; return 0, errors.New("closed") }

func TestWatcherKeepsWatchingWhenOutputFails(t *testing.T) {
	fw := &failWriter{}
	w := NewWatcher(fw, nil)
	if n, err := w.Write([]byte("=== _exit(4) called ===\n")); n != 24 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	w.Write([]byte("halted\n"))
	if o := w.Outcome(); !o.Halted || o.Status != 4 {
		t.Errorf("Outcome %+v", o)
	}
	if w.Err() == nil || fw.n != 1 {
		t.Errorf("Err %v, writes %d: want the first error and no further writes", w.Err(), fw.n)
	}
}

func TestExitCode(t *testing.T) {
	for in, want := range map[int]int{0: 0, 3: 3, 255: 255, 256: 0, -1: 255} {
		if got := ExitCode(in); got != want {
			t.Errorf("ExitCode(%d) = %d, want %d", in, got, want)
		}
	}
}
