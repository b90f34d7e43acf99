// Package interrupt holds the interrupt test of the tools that write
// files (interrupt_test.go): each is stopped mid-write by SIGINT and by
// SIGKILL, and must leave neither its output nor a temporary file, in
// the output's directory or in TMPDIR (work files that other programs
// write included), and a rerun must write the same bytes as an
// uninterrupted run.
//
// "Mid-write" is reached without timing: the tool is made to block at a
// known point with its output pending, then signalled. A tool that reads
// a file while writing (rump-initrd, rump-mkiso -d) blocks opening a file
// the test holds a write lease on (fcntl F_SETLEASE: the open waits until
// the lease holder lets go); a tool that runs a program (rump-bake's
// linker, rump-launch-ec2's mke2fs, rump-mkiso's grub-mkimage,
// rump-launch-xen's xl) finds a stand-in first on PATH that runs the real
// program and then waits.
package interrupt
