//go:build !linux

package atomicfile

import (
	"io/fs"
	"os"
)

func openAnonymous(dir, name string, perm fs.FileMode) (*os.File, error) {
	return nil, errUnsupported
}

func linkAnonymous(f *os.File, name string) error { return errUnsupported }

func procAvailable() bool { return false }
