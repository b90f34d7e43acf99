package xen

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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

// File returns the path of the domain's xl file in dir.
func (d *Domain) File(dir string) string {
	return filepath.Join(dir, d.Name+".cfg")
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
