package launch

import (
	"bytes"
	"io"
	"strconv"
	"sync"
)

// Outcome is what a rumprun console said about how the guest ended.
type Outcome struct {
	Exited bool // "=== _exit(N) called ===" or "=== ERROR: _exit(N) called ===" was seen
	Status int  // N of the last such line

	Halted bool // a line "halted" was seen: the kernel idles from now on

	// BootstrapFailed is the "=== bootstrap failed" line as the kernel printed
	// it (without the line end), "" when there was none.
	BootstrapFailed string
}

// Done reports whether the guest has stopped for good: it halted or failed
// to bootstrap. Real rumprun kernels idle afterwards without ending the
// hypervisor process, so a launcher stops it when Done.
func (o Outcome) Done() bool { return o.Halted || o.BootstrapFailed != "" }

// maxLine bounds the bytes a Watcher keeps of one line: markers are short,
// and console output must not grow memory.
const maxLine = 512

// A Watcher passes console output through unchanged and recognises the
// markers rumprun kernels print (DESIGN.md section 5). It is an io.Writer so
// that it can stand directly for a hypervisor's standard output.
type Watcher struct {
	out    io.Writer
	onDone func(Outcome)

	mu      sync.Mutex
	line    []byte
	long    bool // the current line outgrew maxLine: it is no marker
	outcome Outcome
	done    bool
	werr    error // first error writing to out; output is dropped after it
}

// NewWatcher returns a Watcher that copies to out and calls onDone (when
// not nil) once, from Write, when the guest halts or fails to bootstrap.
// onDone must not block for long: it runs while the console is read.
func NewWatcher(out io.Writer, onDone func(Outcome)) *Watcher {
	return &Watcher{out: out, onDone: onDone}
}

// Write copies p to the output and scans it for markers. It never fails
// because the output failed (the guest must still be watched); Err reports
// that.
func (w *Watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.werr == nil {
		if _, err := w.out.Write(p); err != nil {
			w.werr = err
		}
	}
	var fire func(Outcome)
	var o Outcome
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			w.add(rest)
			break
		}
		w.add(rest[:i])
		if !w.long {
			w.scan(bytes.TrimRight(w.line, "\r"))
		}
		w.line, w.long = w.line[:0], false
		rest = rest[i+1:]
		if !w.done && w.outcome.Done() {
			w.done = true
			fire, o = w.onDone, w.outcome
		}
	}
	w.mu.Unlock()
	if fire != nil {
		fire(o)
	}
	return len(p), nil
}

func (w *Watcher) add(b []byte) {
	if w.long {
		return
	}
	if len(w.line)+len(b) > maxLine {
		w.long = true
		return
	}
	w.line = append(w.line, b...)
}

// scan records what one complete line says.
func (w *Watcher) scan(line []byte) {
	switch {
	case string(line) == "halted":
		w.outcome.Halted = true
	case bytes.HasPrefix(line, []byte("=== bootstrap failed")):
		if w.outcome.BootstrapFailed == "" {
			w.outcome.BootstrapFailed = string(line)
		}
	default:
		if n, ok := exitStatus(line); ok {
			w.outcome.Exited, w.outcome.Status = true, n
		}
	}
}

// exitStatus parses "=== _exit(N) called ===" and "=== ERROR: _exit(N) called ===".
func exitStatus(line []byte) (int, bool) {
	s := string(line)
	const suffix = ") called ==="
	for _, prefix := range []string{"=== _exit(", "=== ERROR: _exit("} {
		if len(s) > len(prefix)+len(suffix) && s[:len(prefix)] == prefix && s[len(s)-len(suffix):] == suffix {
			n, err := strconv.Atoi(s[len(prefix) : len(s)-len(suffix)])
			return n, err == nil
		}
	}
	return 0, false
}

// Outcome returns what the console has said so far. A line counts once its
// line end has been written.
func (w *Watcher) Outcome() Outcome {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.outcome
}

// Err returns the first error writing to the output, if any.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.werr
}

// ExitCode maps the status a guest passed to _exit to a process exit code,
// as a POSIX shell reports it (the low 8 bits).
func ExitCode(status int) int { return status & 0xff }
