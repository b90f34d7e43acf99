package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// Work holds the work files of programs a tool runs (a linker's output,
// grub-mkimage's image, mke2fs's volume) and leaves nothing behind,
// whatever ends the tool, SIGKILL included. On Linux each file is an
// unnamed O_TMPFILE file in the temporary directory (where the file
// system has none, a file unlinked as soon as it is made), which another
// program opens as /proc/PID/fd/N while this process lives: when it dies
// the kernel frees the files, and a program still running can no longer
// open them. Without /proc the files are named, in a directory of their
// own in the temporary directory that SIGINT, SIGTERM and SIGHUP remove
// (SIGKILL cannot).
type Work struct {
	prefix  string
	files   map[string]*os.File // the unnamed files, by name
	dir     string              // the named directory, without /proc
	release func()
}

// NewWork returns an empty Work. prefix names the directory where one
// is needed ("rump-bake-").
func NewWork(prefix string) *Work {
	return &Work{prefix: prefix, files: map[string]*os.File{}}
}

// Path returns the path of the work file name (a base name), empty when
// first asked for, by which this process and the programs it starts open
// it. It is valid until Close.
func (w *Work) Path(name string) (string, error) {
	if f := w.files[name]; f != nil {
		return procPath(f), nil
	}
	if w.dir == "" {
		f, err := openAnonymous(os.TempDir(), name, 0o666)
		if errors.Is(err, errUnsupported) && procAvailable() {
			f, err = unlinkedTemp(w.prefix)
		}
		if err == nil {
			w.files[name] = f
			return procPath(f), nil
		}
		if !errors.Is(err, errUnsupported) {
			return "", err
		}
		if w.dir, err = os.MkdirTemp("", w.prefix); err != nil {
			return "", err
		}
		w.release = RemoveOnSignal(w.dir)
	}
	return filepath.Join(w.dir, name), nil
}

// Close removes the work files.
func (w *Work) Close() error {
	var err error
	for _, f := range w.files {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	w.files = map[string]*os.File{}
	if w.dir != "" {
		if rerr := os.RemoveAll(w.dir); err == nil {
			err = rerr
		}
		w.release()
		w.dir = ""
	}
	return err
}

// procPath is where any process of the same user opens f while this one
// lives.
func procPath(f *os.File) string {
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(f.Fd()))
}

// unlinkedTemp makes a file in the temporary directory and removes its
// name at once: only a SIGKILL in between would leave it.
func unlinkedTemp(prefix string) (*os.File, error) {
	f, err := os.CreateTemp("", prefix+"*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
