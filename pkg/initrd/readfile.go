package initrd

import (
	"fmt"
	"io"
	"io/fs"
	"path"
)

// ReadFile returns the content of the regular file name (with or without
// a leading "/" or "./") in the archive read from r, plain or gzip. Where
// archives are concatenated and the name appears more than once, the last
// one wins, as it does for the kernel. A file larger than max bytes is an
// error; a missing one is an error wrapping fs.ErrNotExist.
func ReadFile(r io.Reader, name string, max int64) ([]byte, error) {
	want := path.Clean("/" + name)
	ir, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	var found []byte
	for {
		h, err := ir.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Type() != TypeReg || path.Clean("/"+h.Name) != want {
			continue
		}
		if h.Size > max {
			return nil, fmt.Errorf("initrd: %s is %d bytes, over the limit of %d", name, h.Size, max)
		}
		if found, err = io.ReadAll(ir); err != nil {
			return nil, err
		}
	}
	if found == nil {
		return nil, fmt.Errorf("initrd: no %s in the archive: %w", want, fs.ErrNotExist)
	}
	return found, nil
}
