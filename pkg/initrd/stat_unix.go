//go:build unix

package initrd

import (
	"io/fs"
	"syscall"
)

// owner returns what fs.FileInfo does not say portably: the owner, the
// link count and the identity of the file.
func owner(fi fs.FileInfo) (uid, gid uint32, nlink uint64, id fileID) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 1, fileID{}
	}
	return uint32(st.Uid), uint32(st.Gid), uint64(st.Nlink), fileID{uint64(st.Dev), uint64(st.Ino)}
}
