// Package initrd reads and writes initrds: newc ("070701") cpio archives,
// plain or gzip-compressed, as the Linux initramfs loader and this
// project's initrd/1 boot protocol read them.
//
// Reading streams, like archive/tar:
//
//	r, err := initrd.NewReader(f) // plain or gzip, told apart by magic
//	for {
//		h, err := r.Next() // io.EOF after the last TRAILER!!!
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err // "initrd: entry 3 (etc/passwd): truncated data at offset 812 (12 of 40 bytes): ..."
//		}
//		io.Copy(dst, r) // the entry's data; a symlink's target is h.Linkname
//	}
//
// The Reader accepts 070701 and 070702 (it checks the latter's data sum),
// never allocates by a size the archive states (names and link targets
// are at most MaxName bytes, data is streamed), and reports errors with
// the entry number (from 1), its name and the offset in the uncompressed
// archive. Hard links are entries that share Inode with Links > 1;
// the Reader does not resolve them. Archives concatenated behind one
// another (a later one may be gzip-compressed behind a plain one) are read
// as one, as kernels unpack them; ReadFile returns the last copy of a file.
//
// Entry names: the Reader, the Writer and ReadFile apply NameRule, the
// one rule that the tools, the probe kernel and initrd/1 kernels share so
// that all of them read the same /json.cfg from the same archive: a name
// is relative after an optional leading "./", with no empty, "." or ".."
// component (EntryPath). An archive with another name is refused with the
// entry's number and name (a *NameError).
//
// Writing: NewWriter(w) returns a Writer with WriteHeader, Write,
// ReadFrom and Close, which checks every header against the format's
// limits. Most callers use a Builder instead, which collects sources and
// writes a whole, reproducible archive:
//
//	b := initrd.NewBuilder(initrd.Options{Mtime: epoch, Warn: warn})
//	err := b.AddPath("rootfs", "")                   // a directory tree at the root
//	err = b.AddPath("motd.txt", "etc/motd")           // one file, or a tree, at a path
//	err = b.AddSpec(specFile, "initrd.spec")          // gen_init_cpio lines
//	err = b.AddList(os.Stdin, "<stdin>", '\n')          // names, as "find | cpio -o" takes them
//	err = b.AddData("json.cfg", cfg, 0o644, "app.json") // bytes from memory
//	err = b.WriteArchive(out)                         // plain; Options.Gzip compresses
//
// See Builder for the rules: later sources override earlier ones, parents
// come before their contents, entries are sorted, hard links stay hard
// links, and everything that would make a bad archive is an error before
// the first byte is written.
package initrd
