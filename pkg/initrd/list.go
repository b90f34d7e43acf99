package initrd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// List writes a listing of the archive in r (plain or gzip) to w, one
// line per entry in archive order, in the layout of "cpio -tvn":
//
//	drwxr-xr-x   2 0        0               0 1970-01-01 00:00 etc
//	lrwxrwxrwx   1 0        0               7 1970-01-01 00:00 lib -> usr/lib
//	crw-------   1 0        0          5,   1 1970-01-01 00:00 dev/console
//
// Owners are numeric and times are UTC, so a listing is as reproducible
// as the archive. Bytes of a name or link target that are not printable
// UTF-8 are written as \n, \t, \\ or \xHH, so every entry is one line. On
// a damaged archive, List writes the entries before the damage and
// returns the error.
func List(w io.Writer, r io.Reader) error {
	ar, err := NewReader(r)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for {
		h, err := ar.Next()
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			bw.Flush()
			return err
		}
		bw.WriteString(listLine(h))
		bw.WriteByte('\n')
	}
}

func listLine(h *Header) string {
	var sb strings.Builder
	sb.WriteString(modeString(h.Mode))
	fmt.Fprintf(&sb, " %3d %-8d %-8d ", h.Links, h.UID, h.GID)
	switch h.Type() {
	case TypeChar, TypeBlock:
		fmt.Fprintf(&sb, "%3d, %3d", h.Rdevmajor, h.Rdevminor)
	default:
		fmt.Fprintf(&sb, "%8d", h.Size)
	}
	sb.WriteString(time.Unix(h.Mtime, 0).UTC().Format(" 2006-01-02 15:04 "))
	sb.WriteString(escapeName(h.Name))
	if h.Type() == TypeLink {
		sb.WriteString(" -> ")
		sb.WriteString(escapeName(h.Linkname))
	}
	return sb.String()
}

// modeString renders st_mode as ls -l does.
func modeString(mode uint32) string {
	b := []byte("?rwxrwxrwx")
	switch mode & ModeType {
	case TypeReg:
		b[0] = '-'
	case TypeDir:
		b[0] = 'd'
	case TypeLink:
		b[0] = 'l'
	case TypeChar:
		b[0] = 'c'
	case TypeBlock:
		b[0] = 'b'
	case TypeFifo:
		b[0] = 'p'
	case TypeSock:
		b[0] = 's'
	}
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := func(bit uint32, at int, set, unset byte) {
		if mode&bit != 0 {
			if b[at] == '-' {
				b[at] = unset
			} else {
				b[at] = set
			}
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}

// escapeName makes a name printable on one line.
func escapeName(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f, 0x80 <= r && r < 0xa0:
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&sb, `\x%02x`, c)
			}
		default:
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	return sb.String()
}
