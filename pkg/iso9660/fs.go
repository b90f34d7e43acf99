package iso9660

import (
	"io"
	"io/fs"
)

// AddFS adds every file, directory and symbolic link of fsys, under the
// same names, with their permission bits; contents are read from fsys when
// the image is written. Symbolic links need fsys to implement
// [fs.ReadLinkFS] (os.DirFS does). Other file types are an error.
func (im *Image) AddFS(fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return &Error{Path: name, Err: err}
		}
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return &Error{Path: name, Err: err}
		}
		e := Entry{Name: name, Mode: info.Mode()}
		switch info.Mode().Type() {
		case fs.ModeSymlink:
			if e.Linkname, err = fs.ReadLink(fsys, name); err != nil {
				return &Error{Path: name, Err: err}
			}
		case 0:
			e.Size = info.Size()
			e.Open = func() (io.ReadCloser, error) { return fsys.Open(name) }
		}
		return im.Add(e)
	})
}
