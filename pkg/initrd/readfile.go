package initrd

import (
	"fmt"
	"io"
	"io/fs"
	"path"
)

// ReadFile returns the content of the regular file at path name ("/" and
// a leading "/" optional) in the archive read from r, plain or gzip. The
// last entry of that path decides, as it does for the kernel, where
// archives are concatenated: it must be a regular file that is not a hard
// link, and no entry may lie below a symbolic link of the archive (see
// NameRule). A file larger than max bytes is an error; a missing one is an
// error wrapping fs.ErrNotExist.
func ReadFile(r io.Reader, name string, max int64) ([]byte, error) {
	want := path.Clean("/" + name)
	ir, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	var found []byte
	var last *Header // the last entry at want, and its number
	lastN := 0
	links := map[string]int{} // symbolic links of the archive -> their entry
	for {
		h, err := ir.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p, _ := EntryPath(h.Name) // the Reader has checked it
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if n, ok := links[dir]; ok {
				return nil, fmt.Errorf("initrd: entry %d %q lies below %s, a symbolic link (entry %d): readers never follow links of the archive", ir.n, h.Name, dir, n)
			}
		}
		if h.Type() == TypeLink {
			links[p] = ir.n
		}
		if p != want {
			continue
		}
		hc := *h
		last, lastN, found = &hc, ir.n, nil
		switch {
		case h.Type() != TypeReg:
			continue // an error unless a later entry replaces it
		case h.Links > 1:
			return nil, fmt.Errorf("initrd: entry %d %q: %s is a hard link (%d links), whose data may be stored with another name: store it as a file of its own", ir.n, h.Name, want, h.Links)
		case h.Size > max:
			return nil, fmt.Errorf("initrd: %s is %d bytes, over the limit of %d", name, h.Size, max)
		}
		if found, err = io.ReadAll(ir); err != nil {
			return nil, err
		}
	}
	if last == nil {
		return nil, fmt.Errorf("initrd: no %s in the archive: %w", want, fs.ErrNotExist)
	}
	if last.Type() != TypeReg {
		return nil, fmt.Errorf("initrd: entry %d %q: %s is a %s, not a regular file", lastN, last.Name, want, typeName(last.Mode))
	}
	return found, nil
}
