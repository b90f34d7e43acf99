package probe

import (
	"bytes"
	"fmt"
)

// NewcEntry writes one newc (070701) entry byte by byte, for archives
// that pkg/initrd's Writer refuses to make: the hostile ones the tests
// show every reader refusing.
func NewcEntry(name string, mode uint32, data string, nlink uint32) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		1, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	b.WriteString(name + "\x00")
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.WriteString(data)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// HostileInitrd is an archive that readers cleaning names each their own
// way would read two ways: a harmless json.cfg, then another under
// "x/../json.cfg" (entry 3).
func HostileInitrd() []byte {
	return bytes.Join([][]byte{
		NewcEntry("json.cfg", 0o100644, `{"cmdline": "harmless"}`, 1),
		NewcEntry("x", 0o40755, "", 2),
		NewcEntry("x/../json.cfg", 0o100644, `{"cmdline": "other"}`, 1),
		NewcEntry("TRAILER!!!", 0, "", 1),
	}, nil)
}

// HostileError is the end of the error every reader gives for
// HostileInitrd.
const HostileError = `initrd: entry 3 "x/../json.cfg": ".." path component; entry names must be relative after an optional leading "./", with no empty, "." or ".." component`
