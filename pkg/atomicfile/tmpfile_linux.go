package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// O_TMPFILE: __O_TMPFILE (the same on every architecture Go supports on
// Linux) with O_DIRECTORY (which is not). The syscall package lacks it on
// some architectures.
const oTmpfile = 0o20000000 | syscall.O_DIRECTORY

const atSymlinkFollow = 0x400

var (
	procOnce sync.Once
	haveProc bool
)

// procAvailable reports whether /proc/PID/fd can name open files.
func procAvailable() bool {
	procOnce.Do(func() {
		_, err := os.Stat("/proc/self/fd")
		haveProc = err == nil
	})
	return haveProc
}

// openAnonymous opens an unnamed file in dir. Linking it needs
// /proc/self/fd (linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH).
func openAnonymous(dir, name string, perm fs.FileMode) (*os.File, error) {
	if !procAvailable() {
		return nil, errUnsupported
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(dir, oTmpfile|syscall.O_RDWR|syscall.O_CLOEXEC, uint32(perm))
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err == nil:
		return os.NewFile(uintptr(fd), name), nil
	// EOPNOTSUPP: the file system has no O_TMPFILE. EISDIR, EINVAL:
	// a kernel older than 3.11 saw an O_DIRECTORY open for writing.
	case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EINVAL):
		return nil, errUnsupported
	}
	return nil, err
}

// linkAnonymous gives the open unnamed file f the name name.
func linkAnonymous(f *os.File, name string) error {
	src, err := syscall.BytePtrFromString("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return err
	}
	dst, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(src)),
			uintptr(atFDCWD), uintptr(unsafe.Pointer(dst)), atSymlinkFollow, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return &os.LinkError{Op: "link", Old: f.Name(), New: name, Err: e}
	}
}

// atFDCWD is AT_FDCWD (-100), a variable so that it converts to uintptr.
var atFDCWD = -0x64
