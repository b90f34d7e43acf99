package qemu

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rumptools/rumptools/pkg/launch"
)

// stopTimeout is how long QEMU gets to end after SIGTERM before SIGKILL
// (writing back a qcow2 image's metadata can take a moment).
var stopTimeout = 10 * time.Second

// ErrNotFound is returned (wrapped) when the QEMU binary is not on PATH.
var ErrNotFound = errors.New("not found: install qemu-system-x86")

// Result is how a run ended.
type Result struct {
	Outcome  launch.Outcome // what the console said (foreground)
	QEMUExit int            // QEMU's exit status; -1 when a signal ended it
	Signal   syscall.Signal // the signal that made the launcher stop the guest; 0 if none
	PID      int            // Background: the daemonized QEMU's process id

	ExitStatus bool // the kernel was told to end QEMU with 2N+1 (Command.ExitStatus)
}

// Exit returns the launcher's exit status and, for a failure, what to say
// on standard error: the program's _exit status when it exited; 1 when
// bootstrap failed, the guest halted without exiting or QEMU ended first;
// 128+N when signal N stopped the guest before it finished.
func (r *Result) Exit(qemu string) (int, string) {
	o := r.Outcome
	switch {
	case r.Signal != 0 && !o.Done() && !o.Exited:
		return 128 + int(r.Signal), ""
	case o.BootstrapFailed != "":
		return 1, o.BootstrapFailed
	case o.Exited:
		return launch.ExitCode(o.Status), ""
	case r.ExitStatus && r.Signal == 0 && r.QEMUExit > 1 && r.QEMUExit%2 == 1:
		// The console said nothing, but the kernel ended QEMU with
		// 2N+1 (QEMU's own failures are 1).
		return (r.QEMUExit - 1) / 2, ""
	case o.Halted:
		return 1, "the guest halted without calling _exit (see its console output)"
	case r.QEMUExit < 0:
		return 1, qemu + " was killed before the guest halted"
	}
	return 1, fmt.Sprintf("%s exited with status %d before the guest halted", qemu, r.QEMUExit)
}

// Run runs c. The console goes to stdout (foreground) and QEMU's own
// messages to stderr. In the foreground Run returns when QEMU has ended:
// by itself, or stopped by Run when the guest halted or failed to
// bootstrap, or when SIGINT, SIGTERM or SIGHUP arrived. In the background
// it returns once QEMU has daemonized.
func Run(c *Command, stdout, stderr io.Writer) (res *Result, err error) {
	path, err := exec.LookPath(c.Path)
	if err != nil {
		return nil, fmt.Errorf("%s %w", c.Path, ErrNotFound)
	}
	args := append([]string{}, c.Args...)
	var temps []string
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	// The pid file stays open here: QEMU writes its pid into it before it
	// daemonizes and removes it when it exits, which a short guest does
	// before the launcher gets to read it. Read through this descriptor,
	// the pid is there either way.
	var pidFile *os.File
	defer func() {
		if pidFile != nil {
			pidFile.Close()
		}
	}()
	var inherited []*os.File
	defer func() {
		for _, f := range inherited {
			f.Close()
		}
	}()
	if c.Log != "" { // first, as fd LogFD
		f, err := openLog(c.Log)
		if err != nil {
			return nil, err
		}
		inherited = append(inherited, f)
	}
	for _, t := range c.Temps {
		if t.Name == "pid" { // QEMU writes it: it needs a name
			f, err := os.CreateTemp("", "rump-launch-qemu-*.pid")
			if err != nil {
				return nil, err
			}
			temps = append(temps, f.Name())
			args[t.Arg], pidFile = f.Name(), f
			continue
		}
		// A file QEMU only reads has no name at all: QEMU inherits it and
		// opens /proc/self/fd/N, so nothing is left behind even when the
		// launcher is killed.
		f, err := anonymousFile(t.Data)
		if err != nil {
			return nil, err
		}
		inherited = append(inherited, f)
		args[t.Arg] = fmt.Sprintf("/proc/self/fd/%d", 2+len(inherited))
	}

	cmd := exec.Command(path, args...)
	cmd.ExtraFiles = inherited
	cmd.Args[0] = c.Path
	if c.Background {
		// QEMU daemonizes once the machine is built (kernel and modules
		// loaded): then the temporary files can go.
		cmd.Stdout, cmd.Stderr = stdout, stderr
		err := cmd.Run()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return nil, fmt.Errorf("%s exited with status %d", c.Path, ee.ExitCode())
			}
			return nil, err
		}
		if pidFile == nil {
			return nil, errors.New("no pid file for QEMU in the background")
		}
		b, err := io.ReadAll(io.NewSectionReader(pidFile, 0, 64))
		if err != nil {
			return nil, fmt.Errorf("reading QEMU's pid file: %v", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("QEMU's pid file holds %q, not a process id", b)
		}
		return &Result{PID: pid, QEMUExit: 0}, nil
	}
	res, err = runForeground(cmd, c.Path, stdout, stderr)
	if res != nil {
		res.ExitStatus = c.ExitStatus
	}
	return res, err
}

func runForeground(cmd *exec.Cmd, name string, stdout, stderr io.Writer) (*Result, error) {
	done := make(chan struct{})
	var doneOnce sync.Once
	w := launch.NewWatcher(stdout, func(launch.Outcome) { doneOnce.Do(func() { close(done) }) })
	filter := &stderrFilter{w: stderr}
	cmd.Stdout, cmd.Stderr = w, filter
	// Its own process group: a Ctrl-C reaches the launcher, which stops QEMU
	// cleanly (SIGTERM lets it flush disk images); if the launcher dies,
	// the kernel sends QEMU the same signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.WaitDelay = 2 * time.Second

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	res := &Result{}
	var killTimer <-chan time.Time
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		filter.dropLine(fmt.Sprintf("terminating on signal 15 from pid %d", os.Getpid()))
		cmd.Process.Signal(syscall.SIGTERM)
		killTimer = time.After(stopTimeout)
	}
	var werr error
loop:
	for {
		select {
		case werr = <-exited:
			break loop
		case <-done:
			done = nil
			stop()
		case s := <-sigs:
			if res.Signal == 0 {
				res.Signal = s.(syscall.Signal)
			}
			stop()
		case <-killTimer:
			cmd.Process.Kill()
			killTimer = nil
		}
	}
	filter.flush()
	res.Outcome = w.Outcome()
	res.QEMUExit = cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) && !errors.Is(werr, exec.ErrWaitDelay) {
		return res, werr
	}
	if err := w.Err(); err != nil && !errors.Is(err, syscall.EPIPE) {
		return res, fmt.Errorf("writing the console: %v", err)
	}
	return res, nil
}

// stderrFilter passes QEMU's messages through, except the one QEMU prints
// when the launcher itself stops it.
type stderrFilter struct {
	w    io.Writer
	mu   sync.Mutex
	drop string
	buf  []byte
}

func (f *stderrFilter) dropLine(s string) {
	f.mu.Lock()
	f.drop = s
	f.mu.Unlock()
}

func (f *stderrFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			break
		}
		line := f.buf[:i+1]
		if !f.dropped(line) {
			f.w.Write(line)
		}
		f.buf = f.buf[i+1:]
	}
	return len(p), nil
}

// dropped reports whether line holds the message to drop, followed by a
// space or the line end (so that pid 1 does not match pid 12).
func (f *stderrFilter) dropped(line []byte) bool {
	if f.drop == "" {
		return false
	}
	i := bytes.Index(line, []byte(f.drop))
	if i < 0 {
		return false
	}
	rest := line[i+len(f.drop):]
	return len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\n')
}

func (f *stderrFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) > 0 {
		f.w.Write(f.buf)
		f.buf = nil
	}
}

// anonymousFile returns a file holding data that has no name in any
// directory (made and unlinked at once), positioned at its start.
func anonymousFile(data []byte) (*os.File, error) {
	f, err := os.CreateTemp("", "rump-launch-qemu-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
