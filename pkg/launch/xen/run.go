package xen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rumptools/rumptools/pkg/launch"
)

// ConsoleGrace is how long "xl console" gets to end by itself once the
// domain is destroyed, before it is sent SIGTERM, and then SIGKILL.
const ConsoleGrace = 2 * time.Second

// Runner says how to run the toolstack and where output goes.
type Runner struct {
	XL            string // the xl program; "" means "xl" from PATH
	XenstoreWrite string // the xenstore-write program; "" means "xenstore-write" from PATH

	Stdin  io.Reader // the console's input (-i)
	Stdout io.Writer // the console (-i) and the final "xen:NAME" line
	Stderr io.Writer // the toolstack's messages

	// Stop, when it delivers, ends the launch: the domain is destroyed.
	// The launcher feeds it SIGINT, SIGTERM and SIGHUP.
	Stop <-chan os.Signal
}

// Result is how a launch ended.
type Result struct {
	DomID string // the domain id, when the launch asked xl for it

	// For an interactive launch: what the console said, and whether it
	// ended (the user detached, or xl console failed) before the program
	// finished.
	Interactive   bool
	Outcome       launch.Outcome
	ConsoleClosed bool
	Signal        os.Signal // the signal that stopped the launch; nil if none
}

// Exit returns the launcher's exit status and, for a failure, what to say:
// the program's _exit status, 1 for a bootstrap failure or a console that
// closed first, 128+N for signal N. A launch that is not interactive
// exits 0 once the domain runs.
func (r *Result) Exit() (int, string) {
	o := r.Outcome
	switch {
	case !r.Interactive:
		return 0, ""
	case o.BootstrapFailed != "":
		return 1, o.BootstrapFailed
	case o.Exited:
		return launch.ExitCode(o.Status), ""
	case r.Signal != nil:
		if n, ok := r.Signal.(syscall.Signal); ok {
			return 128 + int(n), ""
		}
		return 1, fmt.Sprintf("stopped by %v", r.Signal)
	case o.Halted:
		return 1, "the guest halted without calling _exit (see its console output)"
	}
	return 1, "the console closed before the program exited; the domain was destroyed"
}

// StepError is a failed step of the command sequence.
type StepError struct {
	Args []string // the command
	Err  error
	// Destroyed says that the domain had been created and was destroyed.
	Destroyed bool
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Args, " "), e.Err)
	if e.Destroyed {
		msg += "; the domain was destroyed"
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// ErrNotFound is returned (wrapped) when xl or xenstore-write is missing.
var ErrNotFound = errors.New("not found")

// Calls returns the commands of the sequence in order, for a domain whose
// xl config is at file: create paused, read the domain id (only to write
// xenstore), write the config to xenstore, attach the console (interactive),
// unpause (unless the domain is to stay paused), and for an interactive
// launch destroy the domain at the end. domid stands for the domain id in
// the xenstore path.
func (d *Domain) Calls(file, domid string, interactive bool) [][]string {
	calls := [][]string{{"xl", "create", "-p", file}}
	if d.Xenstore != nil {
		calls = append(calls,
			[]string{"xl", "domid", d.Name},
			[]string{"xenstore-write", XenstorePath(domid), XenstoreValue(d.Xenstore)})
	}
	if interactive {
		calls = append(calls, []string{"xl", "console", d.Name})
	}
	if !d.Paused {
		calls = append(calls, []string{"xl", "unpause", d.Name})
	}
	if interactive {
		calls = append(calls, []string{"xl", "destroy", d.Name})
	}
	return calls
}

// XenstoreValue returns v as xenstore-write's argument: xenstore-write
// reads backslash escapes (\\, \t, \n, \r, \xHH, \ooo), so a backslash is
// doubled.
func XenstoreValue(v []byte) string {
	return strings.ReplaceAll(string(v), `\`, `\\`)
}

var domidRE = regexp.MustCompile(`^[0-9]+$`)

type runState struct {
	d       *Domain
	r       *Runner
	xl, xsw string
	created bool // xl create succeeded: a failure destroys the domain
}

// Run starts the domain from its xl config at file, as Calls lists. Any
// failure after "xl create -p" destroys the domain. With interactive the
// console is attached before the domain runs (no output is lost) and Run
// returns when the console shows that the program ended, or it closes, or
// Stop delivers; the domain is destroyed then.
func (d *Domain) Run(r *Runner, file string, interactive bool) (*Result, error) {
	s := &runState{d: d, r: r}
	var err error
	if s.xl, err = lookPath(r.XL, "xl", "xen-utils (the Xen toolstack, run it in dom0)"); err != nil {
		return nil, err
	}
	if d.Xenstore != nil {
		if s.xsw, err = lookPath(r.XenstoreWrite, "xenstore-write", "xenstore-utils"); err != nil {
			return nil, err
		}
	}
	res := &Result{Interactive: interactive}
	if err := s.step("xl", nil, "create", "-p", file); err != nil {
		return nil, err
	}
	s.created = true
	if d.Xenstore != nil {
		var out bytes.Buffer
		if err := s.step("xl", &out, "domid", d.Name); err != nil {
			return nil, s.fail(err)
		}
		res.DomID = strings.TrimSpace(out.String())
		if !domidRE.MatchString(res.DomID) {
			return nil, s.fail(&StepError{Args: []string{"xl", "domid", d.Name}, Err: fmt.Errorf("printed %q, not a domain id", out.String())})
		}
		if err := s.step("xenstore-write", nil, XenstorePath(res.DomID), XenstoreValue(d.Xenstore)); err != nil {
			return nil, s.fail(err)
		}
	}
	if err := s.stopped(); err != nil {
		return nil, s.fail(err)
	}
	if !interactive {
		if !d.Paused {
			if err := s.step("xl", nil, "unpause", d.Name); err != nil {
				return nil, s.fail(err)
			}
		}
		fmt.Fprintf(r.Stdout, "xen:%s\n", d.Name)
		return res, nil
	}
	return s.interactive(res)
}

func (s *runState) interactive(res *Result) (*Result, error) {
	d, r := s.d, s.r
	done := make(chan struct{})
	var once sync.Once
	watcher := &consoleWatcher{w: launch.NewWatcher(r.Stdout, nil), pv: !d.HVM, done: func() { once.Do(func() { close(done) }) }}
	console := exec.Command(s.xl, "console", d.Name)
	console.Args[0] = "xl"
	console.Stdin, console.Stdout, console.Stderr = r.Stdin, watcher, r.Stderr
	if err := console.Start(); err != nil {
		return nil, s.fail(&StepError{Args: []string{"xl", "console", d.Name}, Err: err})
	}
	closed := make(chan error, 1)
	go func() { closed <- console.Wait() }()
	// xl console ends by itself when the domain goes. If it does not, it
	// gets SIGTERM first, so that it can restore the terminal it put in
	// raw mode, and SIGKILL only after another grace period.
	endConsole := func() {
		for _, sig := range []os.Signal{syscall.SIGTERM, os.Kill} {
			select {
			case <-closed:
				return
			case <-time.After(ConsoleGrace):
				console.Process.Signal(sig)
			}
		}
		<-closed
	}

	if err := s.step("xl", nil, "unpause", d.Name); err != nil {
		err = s.fail(err)
		endConsole()
		return nil, err
	}
	select {
	case <-done:
	case <-closed:
		closed <- nil // endConsole reads it again
		res.ConsoleClosed = true
	case sig := <-r.Stop:
		res.Signal = sig
	}
	// The program has ended (or the launch is over): the domain goes, and
	// with it xl console. It may be gone already (on_poweroff = "destroy").
	s.quiet("xl", "destroy", d.Name)
	endConsole()
	res.Outcome = watcher.w.Outcome()
	if !res.Outcome.Exited && !res.Outcome.Done() && res.Signal == nil && !res.ConsoleClosed {
		res.ConsoleClosed = true
	}
	return res, nil
}

// consoleWatcher ends the launch when the console shows the end: Xen PV
// kernels power off after "=== _exit(N) called ===" without printing
// "halted", so for them the exit marker is the end.
type consoleWatcher struct {
	w    *launch.Watcher
	pv   bool
	done func()
}

func (c *consoleWatcher) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if o := c.w.Outcome(); o.Done() || c.pv && o.Exited {
		c.done()
	}
	return n, err
}

// step runs one command of the sequence; its output goes to Stderr (or
// into out), so that standard output carries only the console.
func (s *runState) step(prog string, out io.Writer, args ...string) error {
	path := s.xl
	if prog == "xenstore-write" {
		path = s.xsw
	}
	cmd := exec.Command(path, args...)
	cmd.Args[0] = prog
	cmd.Stdout, cmd.Stderr = s.r.Stderr, s.r.Stderr
	if out != nil {
		cmd.Stdout = out
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Exited() {
			err = fmt.Errorf("exit status %d", ee.ExitCode())
		}
		return &StepError{Args: append([]string{prog}, args...), Err: err}
	}
	return nil
}

// quiet runs a command whose failure does not matter, discarding its output.
func (s *runState) quiet(prog string, args ...string) {
	cmd := exec.Command(s.xl, args...)
	cmd.Args[0] = prog
	cmd.Run()
}

// stopped reports a signal that arrived during the sequence.
func (s *runState) stopped() error {
	select {
	case sig := <-s.r.Stop:
		return fmt.Errorf("stopped by %v", sig)
	default:
		return nil
	}
}

// fail destroys the created domain and says so in err.
func (s *runState) fail(err error) error {
	if !s.created {
		return err
	}
	if derr := s.step("xl", nil, "destroy", s.d.Name); derr != nil {
		return fmt.Errorf("%v; destroying the domain failed too (%v): remove it with xl destroy %s", err, derr, s.d.Name)
	}
	var se *StepError
	if errors.As(err, &se) {
		se.Destroyed = true
		return se
	}
	return fmt.Errorf("%v; the domain was destroyed", err)
}

func lookPath(given, name, pkg string) (string, error) {
	if given == "" {
		given = name
	}
	p, err := exec.LookPath(given)
	if err != nil {
		return "", fmt.Errorf("%s %w: install %s", given, ErrNotFound, pkg)
	}
	return p, nil
}
