// Package atomicfile writes output files that appear complete or not at
// all: a reader of the output's name sees the old file or the new one,
// never a partial one, and an interrupted writer leaves nothing behind.
//
// Create opens a temporary file in the output's directory (the same file
// system, so the final step is a rename or a link, never a copy). On
// Linux it is an anonymous O_TMPFILE file that has no name until Commit
// links it into place: whatever ends the process, even SIGKILL, the
// kernel frees it. Where O_TMPFILE is not supported (some network and
// FUSE file systems, old kernels, no /proc) the file is a named one,
// ".NAME.tmpRANDOM"; while such a file exists, SIGINT, SIGTERM and SIGHUP
// remove it before the process dies of the signal (signals the process
// ignores stay ignored). Only SIGKILL can leave a named one behind.
//
// An output that exists and is not a regular file (a terminal, a pipe, a
// device such as /dev/null) is written directly: it cannot be replaced,
// and need not be. A symbolic link at the output's name is replaced by
// the new file, as a rename replaces it, not followed.
//
// Commit flushes the file to the disk before it takes the output's name
// (fsync): a crash right after must not leave an empty or partial file
// under that name.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// File is an output file being written. Its *os.File methods write the
// pending content (io.Copy into it keeps the kernel's copy_file_range and
// sendfile paths). The content appears at the output's name on Commit.
type File struct {
	*os.File
	name   string // the output
	temp   string // the named temporary file, "" when anonymous or direct
	anon   bool   // an O_TMPFILE file, linked into place by Commit
	direct bool   // writing straight into a non-regular output
	done   bool
}

// Create starts writing the output name. perm is the mode of the file
// that Commit puts in place, less the umask (0o644 for data, 0o755 for
// kernels), as when a program creates a file.
func Create(name string, perm fs.FileMode) (*File, error) {
	if name == "" {
		return nil, &fs.PathError{Op: "create", Path: name, Err: syscall.ENOENT}
	}
	if st, err := os.Stat(name); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return nil, &fs.PathError{Op: "create", Path: name, Err: syscall.EISDIR}
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &File{File: f, name: name, direct: true}, nil
	}
	dir := filepath.Dir(name)
	if !forceNamed {
		f, err := openAnonymous(dir, name, perm.Perm())
		if err == nil {
			return &File{File: f, name: name, anon: true}, nil
		}
		if !errors.Is(err, errUnsupported) {
			return nil, &fs.PathError{Op: "create", Path: name, Err: unwrapPath(err)}
		}
	}
	return createNamed(name, perm.Perm())
}

// createNamed makes ".BASE.tmpRANDOM" beside name, exclusively, so that
// another writer's temporary file is never taken over.
func createNamed(name string, perm fs.FileMode) (*File, error) {
	dir, base := filepath.Split(name)
	for try := 0; ; try++ {
		temp := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(uint64(random()), 36))
		mu.Lock()
		f, err := os.OpenFile(temp, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			pending[temp] = false
			arm()
		}
		mu.Unlock()
		if err == nil {
			return &File{File: f, name: name, temp: temp}, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return nil, &fs.PathError{Op: "create", Path: name, Err: unwrapPath(err)}
		}
	}
}

// Name returns the output's name (not the temporary file's).
func (f *File) Name() string { return f.name }

// Path returns a name by which another process (mke2fs, a linker) can
// open the pending file for reading and writing: the named temporary
// file, or /proc/PID/fd/N for an anonymous one. It is valid until Commit
// or Abort.
func (f *File) Path() string {
	if f.anon {
		return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(f.Fd()))
	}
	if f.direct {
		return f.name
	}
	return f.temp
}

// Commit makes the written content the output: it is flushed to the disk
// (fsync), then linked or renamed over the output's name, and the
// directory is flushed too. On failure the pending file is removed.
func (f *File) Commit() error {
	if f.done {
		return &fs.PathError{Op: "commit", Path: f.name, Err: fs.ErrClosed}
	}
	f.done = true
	if f.direct {
		return f.File.Close()
	}
	err := f.File.Sync()
	if err != nil {
		f.File.Close()
		f.removeTemp()
		return err
	}
	if f.anon {
		err = f.link()
		if cerr := f.File.Close(); err == nil {
			err = cerr
		}
	} else {
		err = f.File.Close()
		if err == nil {
			mu.Lock()
			err = os.Rename(f.temp, f.name)
			if err == nil {
				f.forget()
			}
			mu.Unlock()
		}
		if err != nil {
			f.removeTemp()
		}
	}
	if err != nil {
		return &fs.PathError{Op: "commit", Path: f.name, Err: unwrapPath(err)}
	}
	syncDir(filepath.Dir(f.name))
	return nil
}

// link gives an anonymous file the output's name: directly when there is
// no file of that name, else under a temporary name that is then renamed
// over the output (links cannot replace files).
func (f *File) link() error {
	err := linkAnonymous(f.File, f.name)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	dir, base := filepath.Split(f.name)
	for try := 0; ; try++ {
		temp := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(uint64(random()), 36))
		// Registered before it exists: a signal between the link and the
		// rename removes it.
		mu.Lock()
		pending[temp] = false
		arm()
		mu.Unlock()
		err := linkAnonymous(f.File, temp)
		if err == nil {
			mu.Lock()
			err = os.Rename(temp, f.name)
			if err != nil {
				os.Remove(temp)
			}
			delete(pending, temp)
			disarm()
			mu.Unlock()
			return err
		}
		mu.Lock()
		delete(pending, temp)
		disarm()
		mu.Unlock()
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return err
		}
	}
}

// Abort discards the pending file. After Commit it does nothing, so that
// "defer f.Abort()" cleans up every failure path.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	err := f.File.Close()
	f.removeTemp()
	return err
}

// Close is Abort: content is kept only by Commit.
func (f *File) Close() error { return f.Abort() }

func (f *File) removeTemp() {
	if f.temp == "" {
		return
	}
	mu.Lock()
	os.Remove(f.temp)
	f.forget()
	mu.Unlock()
}

// forget drops the named file from the signal list; mu is held.
func (f *File) forget() {
	delete(pending, f.temp)
	f.temp = ""
	disarm()
}

// syncDir flushes a directory entry to the disk. Some file systems
// cannot (EINVAL); the rename has happened all the same.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

var errUnsupported = errors.New("anonymous temporary files not supported")

// forceNamed makes Create use named temporary files (tests of that path).
var forceNamed bool

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

var (
	randMu    sync.Mutex
	randState uint32
)

// random returns names for temporary files; O_EXCL makes them safe, so
// they need only differ between tries.
func random() uint32 {
	randMu.Lock()
	defer randMu.Unlock()
	if randState == 0 {
		randState = uint32(time.Now().UnixNano()) ^ uint32(os.Getpid())<<16 | 1
	}
	randState ^= randState << 13
	randState ^= randState >> 17
	randState ^= randState << 5
	return randState
}
