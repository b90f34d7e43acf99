package initrd

import (
	"errors"
	"fmt"
	"strings"
)

// NameRule states which entry names an initrd may hold. Every reader
// applies it: these tools (rump-cfgcheck, rump-initrd -t, the launchers,
// rump-mkiso, through Reader and ReadFile), the probe kernel
// (testdata/probe/initrd.c) and the kernel side of initrd/1. Readers that
// cleaned names each their own way could be shown one /json.cfg while a
// kernel boots another; with one rule, a name means one path or nothing.
//
// The rule, to be mirrored exactly:
//
//  1. One leading "./" is removed, if present. What remains is the path
//     relative to the root.
//  2. A remainder of exactly "." is the root directory itself (the entry
//     "find . | cpio -o" writes first).
//  3. Otherwise the remainder, split at every "/", must have no component
//     that is empty, "." or "..": no leading "/" (absolute), no trailing
//     "/", no "//", no "./" inside, no "..". (Any other byte is allowed;
//     NUL cannot occur, names end at the NUL that newc requires.)
//
// An archive with any name that breaks the rule is refused as a whole,
// with the entry's number (from 1, across concatenated archives) and name.
// "json.cfg" and "./json.cfg" are the only names of /json.cfg.
//
// Reading /json.cfg (ReadFile) adds, for the same reason:
//
//  4. The last entry whose path is /json.cfg decides: it must be a
//     regular file and not a hard link (c_nlink 1), since the data of a
//     hard link may be stored with another of its names.
//  5. No entry may lie below a name that an earlier entry of the archive
//     made a symbolic link ("x" -> "/" and then "x/json.cfg"): a reader
//     never follows a link of the archive to place an entry.
const NameRule = `entry names must be relative after an optional leading "./", with no empty, "." or ".." component`

// EntryPath returns the path in the root file system ("/etc/motd"; "/"
// for the root itself) of the entry called name, or why NameRule refuses
// the name.
func EntryPath(name string) (string, error) {
	rest := strings.TrimPrefix(name, "./")
	if rest == "." {
		return "/", nil
	}
	if rest == "" {
		return "", errors.New("empty name")
	}
	if rest[0] == '/' {
		return "", errors.New("absolute name (write it without the leading \"/\")")
	}
	for c := range strings.SplitSeq(rest, "/") {
		switch c {
		case "":
			return "", errors.New("empty path component (\"//\" or a trailing \"/\")")
		case ".":
			return "", errors.New("\".\" path component (only a leading \"./\" is allowed)")
		case "..":
			return "", errors.New("\"..\" path component")
		}
	}
	return "/" + rest, nil
}

// NameError reports an entry whose name breaks NameRule.
type NameError struct {
	Entry int    // from 1, across concatenated archives
	Name  string // as the archive holds it
	Err   error  // what is wrong with it
}

func (e *NameError) Error() string {
	return fmt.Sprintf("initrd: entry %d %q: %v; %s", e.Entry, e.Name, e.Err, NameRule)
}

func (e *NameError) Unwrap() error { return e.Err }
