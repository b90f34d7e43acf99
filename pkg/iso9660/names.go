package iso9660

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Level 1 limits of ECMA-119 (6.8.2.1, 7.5, 7.6).
const (
	maxStem = 8
	maxExt  = 3
)

func isDChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isAChar(c byte) bool {
	return isDChar(c) || strings.IndexByte(" !\"%&'()*+,-./:;<=>?", c) >= 0
}

// dChars maps a real name to d-characters, one character per rune, so that a
// UTF-8 name gives as many underscores as it has characters.
func dChars(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			c := byte(r)
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			if isDChar(c) {
				b.WriteByte(c)
				continue
			}
		}
		b.WriteByte('_')
	}
	return b.String()
}

// isoName is the level 1 identifier of a directory or file, without the
// ";1" version of files. Stem and extension are kept apart so that a
// mangled name can shorten the stem only.
type isoName struct {
	stem, ext string
	dir       bool
}

func baseISOName(name string, dir bool) isoName {
	if dir {
		return isoName{stem: truncate(dChars(name), maxStem), dir: true}
	}
	stem, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		stem, ext = name[:i], name[i+1:]
	}
	s := truncate(dChars(stem), maxStem)
	e := truncate(dChars(ext), maxExt)
	return isoName{stem: s, ext: e}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// identifier is what the directory record holds.
func (n isoName) identifier() string {
	if n.dir {
		return n.stem
	}
	return n.stem + "." + n.ext + ";1"
}

// key is the name without version, unique within a directory.
func (n isoName) key() string {
	if n.dir {
		return n.stem
	}
	return n.stem + "." + n.ext
}

// compareISO orders identifiers as ECMA-119 9.3 asks: by name, then
// extension, each padded with spaces (which sort below every d-character),
// so a plain byte comparison of each part does it.
func compareISO(a, b isoName) int {
	if c := strings.Compare(a.stem, b.stem); c != 0 {
		return c
	}
	if c := strings.Compare(a.ext, b.ext); c != 0 {
		return c
	}
	// A directory "A" and a file "A." compare equal above; keep the
	// order fixed.
	return strings.Compare(a.identifier(), b.identifier())
}

// assignISONames gives every child of dir a level 1 name unique in dir.
// Names that map to a unique 8.3 name keep it. In a group of names that map
// to the same one, the first in byte order of the real name keeps it and
// the others get the first free name with a decimal suffix 1, 2, ... in the
// stem. The result depends only on the set of names, never on the order
// they were added.
func assignISONames(dir *node) error {
	groups := make(map[string][]*node)
	for _, c := range dir.children {
		c.iso = baseISOName(c.name, c.isDir())
		k := c.iso.key()
		groups[k] = append(groups[k], c)
	}
	taken := make(map[string]bool, len(dir.children))
	var later []*node
	for k, g := range groups {
		taken[k] = true
		if len(g) > 1 {
			slices.SortFunc(g, func(a, b *node) int { return strings.Compare(a.name, b.name) })
			later = append(later, g[1:]...)
		}
	}
	slices.SortFunc(later, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	for _, c := range later {
		base := c.iso
		found := false
		for i := 1; i < 100000000; i++ {
			suffix := strconv.Itoa(i)
			cand := base
			cand.stem = truncate(base.stem, maxStem-len(suffix)) + suffix
			if !taken[cand.key()] {
				c.iso = cand
				taken[cand.key()] = true
				found = true
				break
			}
		}
		if !found {
			return errorf(c.path(), ErrLimit, "no free ISO 9660 name for %q", c.name)
		}
	}
	slices.SortFunc(dir.children, func(a, b *node) int { return compareISO(a.iso, b.iso) })
	return nil
}

// checkName validates one Rock Ridge name component.
func checkName(full, name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errorf(full, ErrName, "empty, \".\" or \"..\" component")
	case len(name) > 255:
		return errorf(full, ErrName, "component of %d bytes (at most 255)", len(name))
	case strings.IndexByte(name, 0) >= 0:
		return errorf(full, ErrName, "NUL byte in name")
	}
	return nil
}

// checkVolumeID validates the primary volume descriptor's volume identifier.
func checkVolumeID(id string) error {
	if len(id) > 32 {
		return &Error{Err: fmt.Errorf("%w: %q has %d characters (at most 32)", ErrVolumeID, id, len(id))}
	}
	for i := 0; i < len(id); i++ {
		if !isDChar(id[i]) {
			return &Error{Err: fmt.Errorf("%w: %q: %q at %d is not one of A-Z, 0-9, _", ErrVolumeID, id, id[i], i)}
		}
	}
	return nil
}

func checkAChars(what, s string, max int) error {
	if len(s) > max {
		return &Error{Err: fmt.Errorf("%w: %s %q has %d characters (at most %d)", ErrVolumeID, what, s, len(s), max)}
	}
	for i := 0; i < len(s); i++ {
		if !isAChar(s[i]) {
			return &Error{Err: fmt.Errorf("%w: %s %q: %q at %d is not an ISO 9660 a-character", ErrVolumeID, what, s, s[i], i)}
		}
	}
	return nil
}

// VolumeID maps any name to a valid volume identifier: upper case,
// other characters as _, at most 32 characters.
func VolumeID(name string) string {
	return truncate(dChars(name), 32)
}
