package qemu

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errLogBusy says why a console log is refused.
var errLogBusy = errors.New("the console log of another running guest: give -d another --log FILE, or stop that guest first")

// openLog opens the console log of a background run (creating it, not yet
// truncating it: QEMU does, once it holds it) and takes an exclusive
// flock(2) on it. The lock belongs to the open file, so it lasts while
// any descriptor of it is open: QEMU inherits one and keeps it in an
// -add-fd set until it exits, long after the launcher. Another launcher
// given the same file (under any name) finds it locked and stops before
// QEMU would truncate the first guest's log. A file system without locks
// is written unlocked.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EWOULDBLOCK {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, errLogBusy)
	}
	return f, nil
}
