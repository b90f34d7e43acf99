package iso9660

import (
	"encoding/binary"
	"io/fs"
	"strings"
	"time"
)

// System Use Sharing Protocol 1.12 and Rock Ridge Interchange Protocol 1.12
// entries. Each entry is: signature (2 bytes), length (1), version (1), data.

const ceLen = 28 // length of a CE entry

// The RRIP_1991A identifier, description and source of the ER entry are
// fixed by the Rock Ridge specification.
const (
	rripID     = "RRIP_1991A"
	rripDesc   = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
	rripSource = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION."
)

func both32(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b[0:4], v)
	binary.BigEndian.PutUint32(b[4:8], v)
}

func both16(b []byte, v uint16) {
	binary.LittleEndian.PutUint16(b[0:2], v)
	binary.BigEndian.PutUint16(b[2:4], v)
}

func sue(sig string, data ...[]byte) []byte {
	n := 4
	for _, d := range data {
		n += len(d)
	}
	b := make([]byte, 4, n)
	b[0], b[1], b[2], b[3] = sig[0], sig[1], byte(n), 1
	for _, d := range data {
		b = append(b, d...)
	}
	return b
}

// sueSP marks the root's "." record: SUSP is in use, no bytes skipped.
func sueSP() []byte { return sue("SP", []byte{0xBE, 0xEF, 0}) }

func sueER() []byte {
	hdr := []byte{byte(len(rripID)), byte(len(rripDesc)), byte(len(rripSource)), 1}
	return sue("ER", hdr, []byte(rripID), []byte(rripDesc), []byte(rripSource))
}

func sueCE(lba, off, length uint32) []byte {
	d := make([]byte, 24)
	both32(d[0:], lba)
	both32(d[8:], off)
	both32(d[16:], length)
	return sue("CE", d)
}

// posixMode converts an fs.FileMode to st_mode bits.
func posixMode(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	switch {
	case m.IsDir():
		v |= 0o040000
	case m&fs.ModeSymlink != 0:
		v |= 0o120000
	default:
		v |= 0o100000
	}
	return v
}

// suePX records mode, links, owner (always 0:0) and the file serial number
// (the 44-byte RRIP 1.12 form).
func suePX(n *node) []byte {
	d := make([]byte, 40)
	both32(d[0:], posixMode(n.mode))
	both32(d[8:], n.nlink())
	both32(d[32:], n.ino)
	return sue("PX", d)
}

func (n *node) nlink() uint32 {
	if !n.isDir() {
		return 1
	}
	links := uint32(2)
	for _, c := range n.children {
		if c.isDir() {
			links++
		}
	}
	return links
}

// sueTF records modification, access and attribute change times, short form.
func sueTF(date [7]byte) []byte {
	return sue("TF", []byte{0x0E}, date[:], date[:], date[:])
}

// sueNM records the real name, split into entries of at most 250 bytes
// with the CONTINUE flag on all but the last.
func sueNM(name string) [][]byte {
	var out [][]byte
	for {
		chunk := name
		flags := byte(0)
		if len(chunk) > 250 {
			chunk, flags = chunk[:250], 1
		}
		out = append(out, sue("NM", []byte{flags}, []byte(chunk)))
		name = name[len(chunk):]
		if name == "" {
			return out
		}
	}
}

// slComponent is one component record of an SL entry.
type slComponent struct {
	flags byte // 0x01 CONTINUE, 0x02 CURRENT, 0x04 PARENT, 0x08 ROOT
	text  string
}

// sueSL records a symbolic link target as component records (ROOT,
// CURRENT, PARENT or a name; repeated and trailing slashes are not
// representable and are dropped) packed into SL entries of at most 255
// bytes, each but the last with the SL CONTINUE flag.
//
// Readers disagree about a component boundary that falls between two SL
// entries: Linux and NetBSD insert a slash there, libarchive does not. So a
// non-final entry always ends in a piece marked CONTINUE, which all of them
// join to what follows without a slash: the first part of a name split
// there, or, where no name can be split, an empty piece.
func sueSL(target string) [][]byte {
	var comps []slComponent
	if strings.HasPrefix(target, "/") {
		comps = append(comps, slComponent{flags: 0x08})
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "":
		case ".":
			comps = append(comps, slComponent{flags: 0x02})
		case "..":
			comps = append(comps, slComponent{flags: 0x04})
		default:
			comps = append(comps, slComponent{text: part})
		}
	}
	if len(comps) == 0 {
		comps = append(comps, slComponent{flags: 0x08}) // only slashes: the root
	}

	const room = 250 // 255 - 4 (entry header) - 1 (flags)
	var out [][]byte
	var cur []slComponent
	used := 0
	flush := func(more bool) {
		d := []byte{0}
		if more {
			d[0] = 1
		}
		for _, c := range cur {
			d = append(d, c.flags, byte(len(c.text)))
			d = append(d, c.text...)
		}
		out = append(out, sue("SL", d))
		cur, used = nil, 0
	}
	const glue = 2 // an empty CONTINUE piece
	for len(comps) > 0 {
		c := comps[0]
		need := 2 + len(c.text)
		if used+need <= room && (len(comps) == 1 || used+need+glue <= room) {
			cur = append(cur, c)
			used += need
			comps = comps[1:]
			continue
		}
		if free := room - used; c.flags == 0 && len(c.text) >= 2 && free >= 3 {
			k := min(free-2, len(c.text)-1)
			cur = append(cur, slComponent{flags: 0x01, text: c.text[:k]})
			comps[0].text = c.text[k:]
		} else {
			cur = append(cur, slComponent{flags: 0x01})
		}
		flush(true)
	}
	flush(false)
	return out
}

// dirDate is the 7-byte date of directory records (ECMA-119 9.1.5), in UTC.
func dirDate(t time.Time) [7]byte {
	t = t.UTC()
	return [7]byte{byte(t.Year() - 1900), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0}
}

// volDate is the 17-byte date of volume descriptors (ECMA-119 8.4.26.1).
func volDate(t time.Time) [17]byte {
	var d [17]byte
	copy(d[:], t.UTC().Format("20060102150405")+"00")
	return d
}
