package iso9660

import (
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// node is one file, directory or symbolic link of the tree.
type node struct {
	name     string // Rock Ridge name; "" for the root
	mode     fs.FileMode
	size     int64
	target   string
	open     func() (io.ReadCloser, error)
	parent   *node
	children []*node
	byName   map[string]*node
	implicit bool // created as a missing parent, may still be added explicitly

	// Set by layout.
	iso      isoName
	lba      uint32
	dirBytes uint32 // directories: length of the extent
	num      int    // directories: path table number, from 1
	ino      uint32 // Rock Ridge file serial number
	rec      []byte // directory records of a directory: ".", "..", children
}

func (n *node) isDir() bool     { return n.mode.IsDir() }
func (n *node) isSymlink() bool { return n.mode&fs.ModeSymlink != 0 }

func (n *node) path() string {
	if n.parent == nil {
		return "/"
	}
	var parts []string
	for p := n; p.parent != nil; p = p.parent {
		parts = append(parts, p.name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

func (im *Image) rootNode() *node {
	if im.root == nil {
		im.root = &node{mode: fs.ModeDir | 0o755, byName: map[string]*node{}}
	}
	return im.root
}

// Add records one entry. It checks the name, type and size now, so that
// every error that can be known before writing is reported here.
func (im *Image) Add(e Entry) error {
	name := strings.TrimPrefix(e.Name, "/")
	if name == "" {
		return errorf(e.Name, ErrName, "empty path (the root exists already)")
	}
	parts := strings.Split(name, "/")
	for _, p := range parts {
		if err := checkName(e.Name, p); err != nil {
			return err
		}
	}
	if err := checkEntry(name, e); err != nil {
		return err
	}

	dir := im.rootNode()
	for i, p := range parts[:len(parts)-1] {
		c := dir.byName[p]
		if c == nil {
			c = &node{name: p, mode: fs.ModeDir | 0o755, parent: dir, byName: map[string]*node{}, implicit: true}
			dir.byName[p] = c
			dir.children = append(dir.children, c)
		} else if !c.isDir() {
			return errorf(name, ErrNotDir, "%s is not a directory", path.Join(parts[:i+1]...))
		}
		dir = c
	}

	base := parts[len(parts)-1]
	if old := dir.byName[base]; old != nil {
		if old.implicit && e.Mode.IsDir() {
			old.mode = e.Mode
			old.implicit = false
			return nil
		}
		return errorf(name, ErrDuplicate, "two entries with this name")
	}
	n := &node{name: base, mode: e.Mode, size: e.Size, target: e.Linkname, open: e.Open, parent: dir}
	if n.isDir() {
		n.byName = map[string]*node{}
		n.size = 0
	}
	dir.byName[base] = n
	dir.children = append(dir.children, n)
	return nil
}

func checkEntry(name string, e Entry) error {
	switch e.Mode.Type() {
	case fs.ModeDir:
	case fs.ModeSymlink:
		if e.Linkname == "" {
			return errorf(name, ErrLink, "empty target")
		}
		// NetBSD, the kernel that reads these images, resolves at most
		// MAXPATHLEN (1024) bytes including the NUL; libisofs and isoinfo
		// have similar limits.
		if len(e.Linkname) > MaxLinkname {
			return errorf(name, ErrLink, "target of %d bytes (at most %d)", len(e.Linkname), MaxLinkname)
		}
		if strings.IndexByte(e.Linkname, 0) >= 0 {
			return errorf(name, ErrLink, "NUL byte in target")
		}
	case 0:
		if e.Size < 0 {
			return errorf(name, ErrTooLarge, "negative size %d", e.Size)
		}
		if e.Size > MaxFileSize {
			return errorf(name, ErrTooLarge, "%d bytes (at most %d, 4 GiB - 1)", e.Size, int64(MaxFileSize))
		}
		if e.Open == nil {
			return errorf(name, ErrType, "regular file without contents (Open is nil)")
		}
	default:
		return errorf(name, ErrType, "%s (only regular files, directories and symbolic links)", typeName(e.Mode))
	}
	return nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "file type " + m.Type().String()
}

// Entries returns what the image holds, parents before their contents and
// siblings in byte order of their names; directories created as missing
// parents are included with mode 0755. Regular files keep their Open.
func (im *Image) Entries() []Entry {
	var out []Entry
	var walk func(n *node, prefix string)
	walk = func(n *node, prefix string) {
		names := make([]string, 0, len(n.byName))
		for name := range n.byName {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			c := n.byName[name]
			p := prefix + name
			out = append(out, Entry{Name: p, Mode: c.mode, Size: c.size, Linkname: c.target, Open: c.open})
			if c.isDir() {
				walk(c, p+"/")
			}
		}
	}
	walk(im.rootNode(), "")
	return out
}
