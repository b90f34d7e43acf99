package initrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/pgzip"
)

// Options control how a Builder turns sources into an archive.
type Options struct {
	// Preserve keeps owners and modification times from the source
	// files. Otherwise every entry belongs to uid 0, gid 0 (a spec's
	// explicit owners excepted) and has modification time Mtime, so that
	// the archive does not depend on who built it or when.
	Preserve bool
	// Mtime is the modification time of every entry unless Preserve is
	// set; callers pass SOURCE_DATE_EPOCH, or 0.
	Mtime int64
	// Gzip compresses the archive (gzip, compressed in parallel, with
	// no name and mtime 0 in the gzip header: reproducible).
	Gzip bool
	// Warn receives warnings: special files skipped in a directory
	// source or a file list. Nil discards them.
	Warn func(msg string)
	// Verbose, if not nil, receives a note for every path a later
	// source takes over from an earlier one.
	Verbose func(msg string)
}

// A Builder collects sources and writes them as one newc archive.
//
// Sources are added in order; a later source's entry for a path replaces
// an earlier one (directories included: their metadata is replaced, their
// contents merge). Every Add method checks what it can at once: a path
// that escapes the root, a name longer than MaxName, a file larger than
// MaxSize, an unreadable directory or a bad spec line is an error from
// the Add call, before anything is written. Special files (devices,
// pipes, sockets) are taken only from a spec; in a tree or a file list
// they are skipped with a warning, and AddPath given one is an error.
//
// WriteArchive then adds missing parent directories (mode 0755), checks
// that no entry sits below a non-directory, and writes the entries
// sorted by path, component by component, so that a directory comes
// right before its contents. Hard links (files with more than one link,
// found in the same source tree or across sources, or named together on
// a spec's file line) share an inode number; the data is stored once,
// with the last of the links, as GNU cpio and gen_init_cpio do. The one
// exception is /json.cfg, which always holds its own data and one link. Inode
// numbers count up from 1 in archive order, so they depend only on the
// archive's content. Regular files are opened one at a time, when their
// data is written, and copied in a stream: memory depends on the number
// of entries (their names and metadata), never on file sizes.
type Builder struct {
	opts    Options
	entries map[string]*node
	links   map[fileID]*group
}

type fileID struct{ dev, ino uint64 }

// node is one planned entry. Trees of many files make many nodes, so the
// fields that few entries need live in extra.
type node struct {
	name     string
	src      string // host file: the data of a regular file, and where the entry came from
	x        *extra
	group    *group // hard links sharing this node's data
	size     int64
	mtime    int64
	mode     uint32
	uid, gid uint32
	implicit bool // a parent directory no source named
}

type extra struct {
	target     string // symlink target
	data       []byte // data from memory
	origin     string // where the entry came from, when src does not say
	rmaj, rmin uint32
}

func (n *node) extra() *extra {
	if n.x == nil {
		n.x = &extra{}
	}
	return n.x
}

// origin names where n came from, for messages.
func (n *node) origin() string {
	if n.x != nil && n.x.origin != "" {
		return n.x.origin
	}
	return n.src
}

type group struct {
	members []*node
	ino     uint32 // the inode number the members share
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	return &Builder{opts: opts, entries: map[string]*node{}, links: map[fileID]*group{}}
}

// archiveName turns a path inside the archive (as written in a
// destination or a spec) into an entry name: relative, cleaned, with any
// leading "/" removed (it means the initrd's root). It fails if the path
// leaves the root.
func archiveName(p string) (string, error) {
	clean := path.Clean(strings.TrimLeft(p, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%q escapes the archive root", p)
	}
	if clean == "." {
		return "", nil
	}
	if len(clean) > MaxName {
		return "", fmt.Errorf("name of %d bytes exceeds newc's limit of %d", len(clean), MaxName)
	}
	return clean, nil
}

// put adds n, replacing an earlier entry for the same name.
func (b *Builder) put(n *node) {
	if old, ok := b.entries[n.name]; ok {
		if b.opts.Verbose != nil {
			b.opts.Verbose(fmt.Sprintf("%s: %s overrides %s", n.name, n.origin(), old.origin()))
		}
		if g := old.group; g != nil {
			g.members = slices.DeleteFunc(g.members, func(m *node) bool { return m == old })
		}
	}
	b.entries[n.name] = n
}

func (b *Builder) warn(format string, args ...any) {
	if b.opts.Warn != nil {
		b.opts.Warn(fmt.Sprintf(format, args...))
	}
}

// AddPath adds the file or directory tree src at dst ("" or "/" is the
// root). A directory's contents go below dst, and dst itself becomes a
// directory entry with src's metadata unless it is the root. A file
// without dst goes to the root under its base name. src itself may be a
// symbolic link, which is followed; links inside a tree are stored as
// links.
func (b *Builder) AddPath(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		// Named on purpose, it is not skipped as in a tree: opening a
		// FIFO would block, and a device has no data to archive.
		return fmt.Errorf("initrd: %s: a %s cannot be archived as a file (describe it with a nod, pipe or sock line in a spec file)", src, typeName(unixMode(fi.Mode())))
	}
	if dst == "" && !fi.IsDir() {
		dst = filepath.Base(src)
	}
	name, err := archiveName(dst)
	if err != nil {
		return fmt.Errorf("initrd: %s: destination %w", src, err)
	}
	if !fi.IsDir() {
		return b.addFile(src, name, fi)
	}
	if name != "" {
		if err := b.addFile(src, name, fi); err != nil {
			return err
		}
	}
	root := src
	if lfi, err := os.Lstat(src); err == nil && lfi.Mode()&fs.ModeSymlink != 0 {
		root += string(filepath.Separator) // WalkDir does not follow a link at the root
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
		return b.addFile(p, path.Join(name, filepath.ToSlash(rel)), fi)
	})
}

// AddList adds the files named in r, separated by sep ('\n', or 0 for
// "find -print0"), as "cpio -o" does: each name is both the file to read
// and, cleaned, the entry's name, so it must be relative and must not
// leave the current directory. A directory adds only its own entry;
// "." is the root and adds nothing. listName names r in messages.
func (b *Builder) AddList(r io.Reader, listName string, sep byte) error {
	br := bufio.NewReaderSize(r, maxListLine+1)
	for line := 1; ; line++ {
		s, err := br.ReadSlice(sep)
		if err == bufio.ErrBufferFull {
			return fmt.Errorf("initrd: %s:%d: a line of more than %d bytes names no file", listName, line, maxListLine)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("initrd: %s: %w", listName, err)
		}
		p := strings.TrimSuffix(string(s), string(sep))
		if p != "" {
			if err := b.addListed(p, fmt.Sprintf("%s:%d", listName, line)); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// maxListLine bounds a file list's line (and the memory it takes): Linux
// opens no path of PATH_MAX (4096) bytes or more.
const maxListLine = 4096

func (b *Builder) addListed(p, where string) error {
	if filepath.IsAbs(p) {
		return fmt.Errorf("initrd: %s: %q is an absolute path; list paths relative to the directory to archive (cd there and run find .)", where, p)
	}
	name, err := archiveName(filepath.ToSlash(p))
	if err != nil {
		return fmt.Errorf("initrd: %s: %w", where, err)
	}
	if name == "" {
		return nil
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("initrd: %s: %w", where, err)
	}
	return b.addFile(p, name, fi)
}

// addFile adds the host file p (described by fi, not followed) as name.
func (b *Builder) addFile(p, name string, fi fs.FileInfo) error {
	if len(name) > MaxName {
		return fmt.Errorf("initrd: %s: name of %d bytes exceeds newc's limit of %d", p, len(name), MaxName)
	}
	uid, gid, nlink, id := owner(fi)
	n := &node{name: name, src: p, mode: unixMode(fi.Mode()), mtime: b.opts.Mtime}
	if b.opts.Preserve {
		n.uid, n.gid, n.mtime = uid, gid, fi.ModTime().Unix()
		if err := checkMtime(p, n.mtime); err != nil {
			return err
		}
	}
	switch {
	case fi.Mode().IsRegular():
		if fi.Size() > MaxSize {
			return fmt.Errorf("initrd: %s: size %d exceeds newc's limit of %d bytes (4 GiB - 1)", p, fi.Size(), int64(MaxSize))
		}
		n.size = fi.Size()
		if nlink > 1 {
			g := b.links[id]
			if g == nil {
				g = &group{}
				b.links[id] = g
			}
			b.join(g, n)
		}
	case fi.IsDir():
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
		if len(target) == 0 || len(target) > MaxName {
			return fmt.Errorf("initrd: %s: symbolic link target of %d bytes (must be 1 to %d)", p, len(target), MaxName)
		}
		n.extra().target, n.size = target, int64(len(target))
	default:
		b.warn("skipping %s: %s (describe it with a nod, pipe or sock line in a spec file)", p, typeName(n.mode))
		return nil
	}
	b.put(n)
	return nil
}

func (b *Builder) join(g *group, n *node) {
	n.group = g
	g.members = append(g.members, n)
}

// checkMtime rejects a time that newc's unsigned 32-bit field cannot hold.
func checkMtime(what string, t int64) error {
	if t < 0 || t > 1<<32-1 {
		return fmt.Errorf("initrd: %s: modification time %d is outside newc's range (0 to 4294967295)", what, t)
	}
	return nil
}

// unixMode converts an fs.FileMode to st_mode bits.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	switch m.Type() {
	case 0:
		u |= TypeReg
	case fs.ModeDir:
		u |= TypeDir
	case fs.ModeSymlink:
		u |= TypeLink
	case fs.ModeDevice | fs.ModeCharDevice:
		u |= TypeChar
	case fs.ModeDevice:
		u |= TypeBlock
	case fs.ModeNamedPipe:
		u |= TypeFifo
	case fs.ModeSocket:
		u |= TypeSock
	}
	return u
}

// AddData adds a regular file with the given data and permission bits.
// origin names the data in messages (e.g. the file it came from).
func (b *Builder) AddData(name string, data []byte, perm uint32, origin string) error {
	n, err := archiveName(name)
	if err != nil || n == "" {
		if err == nil {
			err = errors.New("names the archive root")
		}
		return fmt.Errorf("initrd: %s: %w", origin, err)
	}
	if int64(len(data)) > MaxSize {
		return fmt.Errorf("initrd: %s: size %d exceeds newc's limit of %d bytes (4 GiB - 1)", origin, len(data), int64(MaxSize))
	}
	b.put(&node{name: n, mode: TypeReg | perm&ModePerm, mtime: b.opts.Mtime, size: int64(len(data)), x: &extra{data: data, origin: origin}})
	return nil
}

// less orders names component by component: "a" < "a/b" < "a-b", so a
// directory's contents directly follow it.
func less(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		return int(x) - int(y)
	}
	return len(a) - len(b)
}

// plan completes the entries (parents, hard links, inodes, link counts)
// and returns them in archive order.
func (b *Builder) plan() ([]*node, error) {
	if err := checkMtime("Options.Mtime", b.opts.Mtime); err != nil {
		return nil, err
	}
	// Parents first: every name needs a directory above it.
	names := make([]string, 0, len(b.entries))
	for name := range b.entries {
		names = append(names, name)
	}
	for _, name := range names {
		child := b.entries[name]
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			p, ok := b.entries[dir]
			if !ok {
				b.entries[dir] = &node{name: dir, mode: TypeDir | 0o755, mtime: b.opts.Mtime, x: &extra{origin: "parent of " + name}, implicit: true}
				continue
			}
			if p.mode&ModeType != TypeDir {
				return nil, fmt.Errorf("initrd: %s (from %s): parent %s is a %s (from %s), not a directory", child.name, child.origin(), dir, typeName(p.mode), p.origin())
			}
			if !p.implicit {
				break // its own parents are checked in its turn
			}
		}
	}
	// /json.cfg carries its own data: readers take it by itself (see
	// NameRule), never through another name that holds a hard link's data.
	if n := b.entries["json.cfg"]; n != nil && n.group != nil {
		n.group.members = slices.DeleteFunc(n.group.members, func(m *node) bool { return m == n })
		n.group = nil
	}
	order := make([]*node, 0, len(b.entries))
	for _, n := range b.entries {
		order = append(order, n)
	}
	slices.SortFunc(order, func(x, y *node) int { return less(x.name, y.name) })
	return order, nil
}

// WriteArchive writes the archive to w (compressed if Options.Gzip). All
// checks that do not need file data happen before the first byte. A file
// that changed size since it was added is an error.
func (b *Builder) WriteArchive(w io.Writer) error {
	order, err := b.plan()
	if err != nil {
		return err
	}
	// Number inodes in archive order; hard links share the first one's
	// and store their data with the last one.
	subdirs := map[string]uint32{}
	carrier := map[*group]*node{}
	for _, n := range order {
		if n.mode&ModeType == TypeDir {
			if parent := path.Dir(n.name); parent != "." {
				subdirs[parent]++
			}
		}
		if g := n.group; g != nil && len(g.members) > 1 {
			carrier[g] = n
		}
	}

	var zw *pgzip.Writer
	if b.opts.Gzip {
		zw = newGzip(w)
		w = zw
	}
	aw := NewWriter(w)
	for i, n := range order {
		h := &Header{Name: n.name, Mode: n.mode, UID: int(n.uid), GID: int(n.gid), Mtime: n.mtime, Size: n.size,
			Inode: uint32(i + 1), Links: 1}
		if x := n.x; x != nil {
			h.Linkname, h.Rdevmajor, h.Rdevminor = x.target, x.rmaj, x.rmin
		}
		if n.mode&ModeType == TypeDir {
			h.Links = 2 + subdirs[n.name]
		}
		if g := n.group; g != nil && len(g.members) > 1 {
			if g.ino == 0 {
				g.ino = h.Inode
			}
			h.Inode = g.ino
			h.Links = uint32(len(g.members))
			if carrier[g] != n {
				h.Size = 0
			}
		}
		if err := aw.WriteHeader(h); err != nil {
			return err
		}
		if h.Mode&ModeType != TypeReg || h.Size == 0 {
			continue
		}
		if n.x != nil && n.x.data != nil {
			_, err = aw.Write(n.x.data)
		} else {
			err = copyFile(aw, n.src, h.Size)
		}
		if err != nil {
			return err
		}
	}
	if err := aw.Close(); err != nil {
		return err
	}
	if zw != nil {
		return zw.Close()
	}
	return nil
}

// copyFile streams the data of src, which must still have size bytes.
func copyFile(aw *Writer, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	defer f.Close()
	n, err := aw.ReadFrom(f)
	if err != nil {
		return fmt.Errorf("initrd: %s: %w", src, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	if n != size || fi.Size() != size {
		return fmt.Errorf("initrd: %s: file changed size while the archive was written (%d bytes when added, now %d)", src, size, fi.Size())
	}
	return nil
}

// gzipLevel is the compression level of -z. klauspost/compress's levels
// 1 to 6 are its fast encoders, which store a block almost as it is when
// they find few matches: base64 text (random bytes encoded, 6 bits of
// entropy in 8) came out 33% larger than from gzip -6, at 99% of its
// size. Level 7, the first with lazy matching, Huffman-codes such blocks:
// 1% smaller than gzip -6 on base64, 2-3% larger on executable code, the
// same on random data, for about a third more time than level 5 (measured
// on 20 MB of each; see bench/initrd).
const gzipLevel = 7

// newGzip returns a parallel gzip writer whose output depends only on its
// input: pgzip cuts blocks at fixed input offsets (whatever the number of
// blocks in flight), and the header has no name and mtime 0. Each block
// in flight costs about 1.5 MiB (input, output, compressor state), so the
// number follows the CPUs but stops at 6 (measured on 2 CPUs: 2 blocks
// compress as fast as 4; 256 KiB blocks compress as well as 1 MiB ones,
// to within 0.01%, and block size is not why text compressed badly).
func newGzip(w io.Writer) *pgzip.Writer {
	zw, err := pgzip.NewWriterLevel(w, gzipLevel)
	if err != nil {
		panic(err) // a constant, valid level
	}
	blocks := min(max(runtime.GOMAXPROCS(0), 2), 6)
	if err := zw.SetConcurrency(256<<10, blocks); err != nil {
		panic(err) // constant, valid arguments
	}
	zw.ModTime = time.Unix(0, 0) // pgzip writes ModTime.Unix() as is; the zero Time would not be 0
	return zw
}
