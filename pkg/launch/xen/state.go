package xen

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rumptools/rumptools/pkg/atomicfile"
)

// StateDir returns the directory that holds the xl files: dir when given
// (-s DIR), else $XDG_RUNTIME_DIR/rump-launch-xen, else for root (xl runs
// as root, often under sudo, which drops XDG_RUNTIME_DIR)
// /run/rump-launch-xen, else rump-launch-xen-UID in the temporary
// directory.
func StateDir(dir string) string {
	switch {
	case dir != "":
		return dir
	case os.Getenv("XDG_RUNTIME_DIR") != "":
		return filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "rump-launch-xen")
	case os.Geteuid() == 0:
		return "/run/rump-launch-xen"
	}
	return filepath.Join(os.TempDir(), "rump-launch-xen-"+strconv.Itoa(os.Geteuid()))
}

// File returns the path of the domain's xl file in dir. A relative path
// that would start with "-" gets "./" in front, so that no program (xl,
// and mkdir, mv and rm in the -n script) reads it as options.
func (d *Domain) File(dir string) string {
	return notOption(filepath.Join(dir, d.Name+".cfg"))
}

// notOption returns path in a form that does not start with "-".
func notOption(path string) string {
	if strings.HasPrefix(path, "-") {
		return "./" + path
	}
	return path
}

// WriteFile writes the domain's xl config to path atomically
// (pkg/atomicfile), so that xl never reads a partial file. The directory is created (mode 0700) when missing.
func (d *Domain) WriteFile(path string) error {
	data, err := d.Config.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %v", err)
	}
	// The errors name the file.
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}
