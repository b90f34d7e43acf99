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
	var found []byte          // the last entry at want, read
	var bad error             // or why it cannot be read
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
		// This entry replaces any earlier one; what is wrong with it is an
		// error unless a later one replaces it in turn.
		found, bad = nil, nil
		switch {
		case h.Type() != TypeReg:
			bad = fmt.Errorf("initrd: entry %d %q: %s is a %s, not a regular file", ir.n, h.Name, want, typeName(h.Mode))
		case h.Links > 1:
			bad = fmt.Errorf("initrd: entry %d %q: %s is a hard link (%d links), whose data may be stored with another name: store it as a file of its own", ir.n, h.Name, want, h.Links)
		case h.Size > max:
			bad = fmt.Errorf("initrd: %s is %d bytes, over the limit of %d", name, h.Size, max)
		default:
			if found, err = io.ReadAll(ir); err != nil {
				return nil, err
			}
		}
	}
	if bad != nil {
		return nil, bad
	}
	if found == nil {
		return nil, fmt.Errorf("initrd: no %s in the archive: %w", want, fs.ErrNotExist)
	}
	return found, nil
}
