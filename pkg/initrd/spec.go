package initrd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// specFields gives, per spec line type, the fields after the type that
// the line must have (Linux's usr/gen_init_cpio format) and their number.
var specFields = map[string]struct {
	syntax string
	n      int
}{
	"file":  {"<name> <location> <mode> <uid> <gid> [<hard links>...]", 5},
	"dir":   {"<name> <mode> <uid> <gid>", 4},
	"nod":   {"<name> <mode> <uid> <gid> <dev_type> <maj> <min>", 7},
	"slink": {"<name> <target> <mode> <uid> <gid>", 5},
	"pipe":  {"<name> <mode> <uid> <gid>", 4},
	"sock":  {"<name> <mode> <uid> <gid>", 4},
}

// AddSpec adds the entries described in r, in the format of Linux's
// gen_init_cpio (usr/gen_init_cpio.c), one per line:
//
//	file  <name> <location> <mode> <uid> <gid> [<hard links>...]
//	dir   <name> <mode> <uid> <gid>
//	nod   <name> <mode> <uid> <gid> <dev_type> <maj> <min>
//	slink <name> <target> <mode> <uid> <gid>
//	pipe  <name> <mode> <uid> <gid>
//	sock  <name> <mode> <uid> <gid>
//
// Fields are separated by blanks; lines starting with '#' and blank lines
// are ignored. <mode> is octal permission bits (up to 07777), <uid> and
// <gid> decimal, <dev_type> b or c. A leading "/" in a name is the
// archive root. <location> is a regular file on the host, relative to
// the current directory, with ${VAR} replaced from the environment; its
// data is read when the archive is written. The names after <gid> on a
// file line are hard links to it. Owners are always the spec's, also
// without Options.Preserve; specName names r in messages.
func (b *Builder) AddSpec(r io.Reader, specName string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		if err := b.addSpecLine(strings.Fields(text), fmt.Sprintf("%s:%d", specName, line)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("initrd: %s: %w", specName, err)
	}
	return nil
}

func (b *Builder) addSpecLine(f []string, where string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("initrd: %s: "+format, append([]any{where}, args...)...)
	}
	kind := f[0]
	want, ok := specFields[kind]
	if !ok {
		return bad("unknown entry type %q (want file, dir, nod, slink, pipe or sock)", kind)
	}
	// A file line may name any number of hard links after its fields.
	if len(f)-1 < want.n || kind != "file" && len(f)-1 > want.n {
		return bad("%s takes %s; found %d fields", kind, want.syntax, len(f)-1)
	}
	name, err := archiveName(f[1])
	if err == nil && name == "" {
		err = fmt.Errorf("%q is the archive root", f[1])
	}
	if err != nil {
		return bad("%w", err)
	}
	// Fields after the name (and the location or target) are mode, uid, gid.
	i := 2
	if kind == "file" || kind == "slink" {
		i = 3
	}
	perm, err := strconv.ParseUint(f[i], 8, 32)
	if err != nil || perm > ModePerm {
		return bad("mode %q is not octal permission bits (0 to 7777)", f[i])
	}
	uid, err := strconv.ParseUint(f[i+1], 10, 32)
	if err != nil {
		return bad("uid %q is not a number from 0 to 4294967295", f[i+1])
	}
	gid, err := strconv.ParseUint(f[i+2], 10, 32)
	if err != nil {
		return bad("gid %q is not a number from 0 to 4294967295", f[i+2])
	}
	n := &node{name: name, mode: uint32(perm), uid: uint32(uid), gid: uint32(gid), mtime: b.opts.Mtime, x: &extra{origin: where}}
	switch kind {
	case "dir":
		n.mode |= TypeDir
	case "pipe":
		n.mode |= TypeFifo
	case "sock":
		n.mode |= TypeSock
	case "slink":
		n.mode |= TypeLink
		n.x.target, n.size = f[2], int64(len(f[2]))
		if len(f[2]) > MaxName {
			return bad("symbolic link target of %d bytes exceeds %d", len(f[2]), MaxName)
		}
	case "nod":
		switch f[5] {
		case "c":
			n.mode |= TypeChar
		case "b":
			n.mode |= TypeBlock
		default:
			return bad("device type %q is neither b nor c", f[5])
		}
		maj, err1 := strconv.ParseUint(f[6], 10, 32)
		min, err2 := strconv.ParseUint(f[7], 10, 32)
		if err1 != nil || err2 != nil {
			return bad("device number %s %s is not two numbers from 0 to 4294967295", f[6], f[7])
		}
		n.x.rmaj, n.x.rmin = uint32(maj), uint32(min)
	case "file":
		return b.addSpecFile(n, os.Expand(f[2], os.Getenv), f[6:], bad)
	}
	b.put(n)
	return nil
}

// addSpecFile adds a spec's file line: n and its hard links, all with
// the data of loc.
func (b *Builder) addSpecFile(n *node, loc string, links []string, bad func(string, ...any) error) error {
	fi, err := os.Stat(loc)
	if err != nil {
		return bad("%w", err)
	}
	if !fi.Mode().IsRegular() {
		return bad("%s is a %s, not a regular file", loc, typeName(unixMode(fi.Mode())))
	}
	if fi.Size() > MaxSize {
		return bad("%s: size %d exceeds newc's limit of %d bytes (4 GiB - 1)", loc, fi.Size(), int64(MaxSize))
	}
	n.mode |= TypeReg
	n.src, n.size = loc, fi.Size()
	if b.opts.Preserve {
		n.mtime = fi.ModTime().Unix()
		if err := checkMtime(loc, n.mtime); err != nil {
			return err
		}
	}
	nodes := []*node{n}
	for _, l := range links {
		name, err := archiveName(l)
		if err == nil && name == "" {
			err = fmt.Errorf("%q is the archive root", l)
		}
		if err != nil {
			return bad("hard link %w", err)
		}
		m := *n
		m.name = name // shares n's extra: same origin
		nodes = append(nodes, &m)
	}
	g := &group{}
	for _, m := range nodes {
		if len(nodes) > 1 {
			b.join(g, m)
		}
		b.put(m)
	}
	return nil
}
