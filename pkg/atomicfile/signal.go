package atomicfile

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Named temporary files and directories are removed when a terminating
// signal arrives, then the process dies of that signal as it would have
// (its parent sees the signal, not an exit status). The handler is
// installed only while something is pending, so a program's own
// handling of these signals is untouched the rest of the time.
var (
	mu      sync.Mutex
	pending = map[string]bool{} // path -> a directory tree (RemoveAll)
	sigc    chan os.Signal
	stopc   chan struct{}
)

var terminating = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// RemoveOnSignal arranges for path, a temporary file or directory tree
// that other programs write (a linker's work directory, say), to be
// removed if SIGINT, SIGTERM or SIGHUP ends the process before release is
// called. release does not remove path; the caller does that.
func RemoveOnSignal(path string) (release func()) {
	mu.Lock()
	pending[path] = true
	arm()
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			delete(pending, path)
			disarm()
			mu.Unlock()
		})
	}
}

// arm installs the handler if it is not installed; mu is held. Signals
// the process ignores (nohup, a background job of a shell) stay ignored:
// Notify would otherwise turn them on.
func arm() {
	if sigc != nil {
		return
	}
	var sigs []os.Signal
	for _, s := range terminating {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return
	}
	sigc, stopc = make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(sigc, sigs...)
	go handle(sigc, stopc)
}

// disarm removes the handler when nothing is pending; mu is held.
func disarm() {
	if sigc == nil || len(pending) > 0 {
		return
	}
	signal.Stop(sigc)
	close(stopc)
	sigc, stopc = nil, nil
}

func handle(c chan os.Signal, stop chan struct{}) {
	select {
	case s := <-c:
		die(s)
	case <-stop:
		// A signal that arrived just before Stop is still owed its effect.
		select {
		case s := <-c:
			die(s)
		default:
		}
	}
}

// die removes what is pending and ends the process with s. mu stays
// locked: no Commit may rename a file into place after this point.
func die(s os.Signal) {
	mu.Lock()
	for p, tree := range pending {
		if tree {
			os.RemoveAll(p)
		} else {
			os.Remove(p)
		}
	}
	signal.Reset(s)
	sig := s.(syscall.Signal)
	syscall.Kill(os.Getpid(), sig)
	// Delivery is asynchronous; should it not end the process (blocked by
	// a parent), exit as a shell reports death by a signal.
	time.Sleep(2 * time.Second)
	os.Exit(128 + int(sig))
}
