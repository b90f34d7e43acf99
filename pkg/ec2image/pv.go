// Package ec2image makes the volume images that rump-launch-ec2 turns into
// EC2 machine images.
//
// A Xen PV kernel boots on EC2 through PV-GRUB, Amazon's paravirtual GRUB
// 0.97, given to the image as its kernel (AKI). The hd0 flavour of PV-GRUB
// reads /boot/grub/menu.lst from a file system that fills the whole root
// volume, without a partition table. PV describes such a volume: an ext2 file
// system holding the menu, the kernel and /json.cfg, which the kernel reads
// because its command line says _RUMPRUN_ROOTFSCFG=/json.cfg (rumprun mounts
// the etfs device sda1, the root volume, to find it); a kernel that speaks
// initrd/1 gets /boot/initrd instead, which menu.lst has PV-GRUB load as
// its ramdisk, with the config inside. The file system is made
// by mke2fs -d from e2fsprogs: no root privileges, no loop devices.
//
// An hw kernel boots on an HVM instance from a BIOS-bootable disk; HW makes
// one from a launch plan with pkg/bootloader: the hybrid ISO that boots as a
// CD and as a raw disk, with the config as a multiboot module.
package ec2image

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rumptools/rumptools/pkg/atomicfile"
	"github.com/rumptools/rumptools/pkg/bootloader"
)

// Paths on a PV volume.
const (
	MenuPath   = "/boot/grub/menu.lst"
	KernelPath = "/boot/kernel"
	ConfigPath = "/json.cfg"
	InitrdPath = "/boot/initrd"
)

// KernelArgs is the kernel command line PV-GRUB passes: rumprun reads
// the config from the root volume.
const KernelArgs = "_RUMPRUN_ROOTFSCFG=" + ConfigPath

// DefaultSize is the file system size of a PV volume when none is given:
// the smallest EBS volume.
const DefaultSize = 1 << 30

// File is one file on a volume.
type File struct {
	Path   string // absolute path on the volume
	Size   int64
	Source string // host file it is copied from; "" for generated content
	Data   []byte // generated content, after Source's when both are set
}

// PV describes the root volume of a paravirtual image.
type PV struct {
	Kernel string // host path of the Xen PV kernel
	Config []byte // the config in wire form, written to /json.cfg (protocol rumprun)
	// Initrd, for an initrd/1 kernel instead of Config, is written to
	// /boot/initrd, which PV-GRUB loads as the domain's ramdisk.
	Initrd *bootloader.InitrdModule
	Title  string    // the menu entry's title (the machine name)
	Size   int64     // file system size in bytes; 0 means DefaultSize
	Time   time.Time // every time stamp in the file system
}

// Menu returns /boot/grub/menu.lst: one entry, booted at once. "root
// (hd0)" is the unpartitioned volume, which the hd0 PV-GRUB reads.
func (v *PV) Menu() []byte {
	title := strings.Join(strings.Fields(v.Title), " ")
	if title == "" {
		title = "rumprun"
	}
	head := "default 0\ntimeout 0\nhiddenmenu\n\ntitle " + title + "\nroot (hd0)\n"
	if v.Initrd != nil {
		// The config is in the initrd: the command line stays empty.
		return []byte(head + "kernel " + KernelPath + "\ninitrd " + InitrdPath + "\n")
	}
	return []byte(head + "kernel " + KernelPath + " " + KernelArgs + "\n")
}

// Files returns the volume's files in the order they are listed, with
// their sizes; the kernel is only looked at, not read.
func (v *PV) Files() ([]File, error) {
	st, err := os.Stat(v.Kernel)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", v.Kernel)
	}
	menu := v.Menu()
	files := []File{
		{Path: MenuPath, Size: int64(len(menu)), Data: menu},
		{Path: KernelPath, Size: st.Size(), Source: v.Kernel},
	}
	if m := v.Initrd; m != nil {
		return append(files, File{Path: InitrdPath, Size: m.Size + int64(len(m.Appendix)), Source: m.Initrd, Data: m.Appendix}), nil
	}
	return append(files, File{Path: ConfigPath, Size: int64(len(v.Config)), Data: v.Config}), nil
}

func (v *PV) size() int64 {
	if v.Size == 0 {
		return DefaultSize
	}
	return v.Size
}

// blockSize of the file system. Inodes are 128 bytes and the only features
// are filetype and sparse_super: what GRUB 0.97 (PV-GRUB) and NetBSD's
// ext2fs driver in rumprun both read.
const blockSize = 4096

// MkfsArgs returns the arguments of the mke2fs command that makes the
// empty file system in image (which it creates or overwrites); debugfs
// then writes the files (Script). MKE2FS_CONFIG=/dev/null and
// E2FSPROGS_FAKE_TIME (see Env) make the result independent of the host's
// mke2fs.conf and the clock.
func (v *PV) MkfsArgs(image string) []string {
	uuid := v.uuid()
	return []string{
		"-q", "-F", "-t", "ext2", "-b", strconv.Itoa(blockSize), "-I", "128", "-i", "65536", "-m", "0",
		"-O", "none,filetype,sparse_super", "-L", "rumprun",
		"-U", uuid, "-E", "root_owner=0:0,hash_seed=" + uuid,
		image, strconv.FormatInt(v.size()/1024, 10) + "k",
	}
}

// Env returns the environment additions for mke2fs and debugfs.
func (v *PV) Env() []string {
	return []string{"MKE2FS_CONFIG=/dev/null", "E2FSPROGS_FAKE_TIME=" + strconv.FormatInt(v.Time.Unix(), 10)}
}

// uuid derives the file system UUID from what the volume holds, so that the
// same inputs give the same bytes and different volumes differ.
func (v *PV) uuid() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00", v.Title, v.size(), v.Time.Unix())
	h.Write(v.Config)
	if st, err := os.Stat(v.Kernel); err == nil {
		fmt.Fprintf(h, "\x00%d", st.Size())
	}
	if m := v.Initrd; m != nil {
		fmt.Fprintf(h, "\x00initrd %d\x00", m.Size)
		h.Write(m.Appendix)
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x40 // version 4 layout, as mke2fs expects a valid UUID
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ErrNoMke2fs is returned when e2fsprogs is not installed.
var ErrNoMke2fs = errors.New("mke2fs and debugfs not found on PATH (install e2fsprogs)")

// WriteFile makes the volume image at dest, atomically (pkg/atomicfile):
// dest appears when complete, and a failure or an interrupting signal
// leaves nothing behind.
func (v *PV) WriteFile(dest string) error {
	out, err := atomicfile.Create(dest, 0o644)
	if err != nil {
		return err
	}
	defer out.Abort()
	// mke2fs and debugfs open the pending file by its /proc name.
	if err := v.Make(out.Path()); err != nil {
		return err
	}
	return out.Commit()
}

// Make makes the volume image in the file at image (a path mke2fs may
// create or overwrite, such as an atomicfile.Work path). The files are
// copied into work files that have no name (atomicfile.Work), from which
// debugfs writes them, so that nothing is left behind whatever ends the
// process, SIGKILL included. Memory use does not depend on the kernel's
// size: it is copied with io.Copy.
func (v *PV) Make(image string) error {
	mkfs, err1 := exec.LookPath("mke2fs")
	debugfs, err2 := exec.LookPath("debugfs")
	if err1 != nil || err2 != nil {
		return ErrNoMke2fs
	}
	if v.Time.Unix() < 0 || v.Time.Unix() > 1<<31-1 {
		return fmt.Errorf("time %v: an ext2 file system with 128-byte inodes holds times from 1970 to 2038", v.Time)
	}
	files, err := v.Files()
	if err != nil {
		return err
	}
	var need int64 = 4 << 20 // metadata of a small file system, with room to spare
	for _, f := range files {
		need += (f.Size + blockSize - 1) / blockSize * blockSize
	}
	if need > v.size() {
		return fmt.Errorf("the files need about %d MiB, more than the %d MiB file system: ask for a bigger volume", need>>20, v.size()>>20)
	}

	work := atomicfile.NewWork("rump-ec2-volume-")
	defer work.Close()
	sources := make([]string, len(files))
	for i, f := range files {
		if sources[i], err = work.Path("file" + strconv.Itoa(i)); err != nil {
			return err
		}
		if err := copyFile(sources[i], f); err != nil {
			return err
		}
	}
	script, err := work.Path("debugfs")
	if err != nil {
		return err
	}
	if err := os.WriteFile(script, v.Script(files, sources), 0o600); err != nil {
		return err
	}
	if err := run(v.Env(), mkfs, v.MkfsArgs(image)...); err != nil {
		return err
	}
	return run(v.Env(), debugfs, "-w", "-f", script, image)
}

// Script returns the debugfs commands that write files (their contents
// in the host files sources, in order) into the file system, and then set
// every mode, owner and time to what the same inputs always give.
func (v *PV) Script(files []File, sources []string) []byte {
	var b bytes.Buffer
	for _, d := range dirs(files)[1:] {
		fmt.Fprintf(&b, "mkdir %s\n", d)
	}
	for i, f := range files {
		// debugfs writes a file into the current directory, by base name.
		fmt.Fprintf(&b, "cd %s\nwrite %s %s\n", path.Dir(f.Path), sources[i], path.Base(f.Path))
	}
	b.WriteString("cd /\n")
	t := "@" + strconv.FormatInt(v.Time.Unix(), 10)
	set := func(p, mode string) {
		fields := []string{"uid 0", "gid 0", "atime " + t, "mtime " + t, "ctime " + t}
		if mode != "" {
			fields = append([]string{"mode " + mode}, fields...)
		}
		for _, field := range fields {
			fmt.Fprintf(&b, "set_inode_field %s %s\n", p, field)
		}
	}
	for _, d := range dirs(files) {
		set(d, "040755")
	}
	set("/lost+found", "") // mke2fs's, 0700
	for _, f := range files {
		set(f.Path, "0100644")
	}
	return b.Bytes()
}

// dirs returns every directory that holds a file, parents first.
func dirs(files []File) []string {
	seen := map[string]bool{"/": true}
	out := []string{"/"}
	for _, f := range files {
		var chain []string
		for d := path.Dir(f.Path); !seen[d]; d = path.Dir(d) {
			seen[d] = true
			chain = append([]string{d}, chain...)
		}
		out = append(out, chain...)
	}
	return out
}

// copyFile fills the work file at dst with f's content.
func copyFile(dst string, f File) error {
	if f.Source == "" {
		return os.WriteFile(dst, f.Data, 0o600)
	}
	in, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, in)
	if err == nil && n != f.Size-int64(len(f.Data)) {
		err = fmt.Errorf("%s: changed size while being copied (%d, then %d bytes)", f.Source, f.Size-int64(len(f.Data)), n)
	}
	if err == nil {
		_, err = out.Write(f.Data)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// run runs a program with extra environment, and returns its output as
// the error when it fails. debugfs reports some errors only in its output,
// with success as exit status, so its output is checked too.
func run(env []string, prog string, args ...string) error {
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", filepath.Base(prog), err, bytes.TrimSpace(out))
	}
	for _, line := range strings.Split(string(out), "\n") {
		cmd, _, _ := strings.Cut(line, ":")
		switch {
		case cmd == "set_inode_field", cmd == "mkdir", cmd == "cd", cmd == "write", cmd == "do_write_internal",
			strings.Contains(line, "File not found"):
			return fmt.Errorf("%s: %s", filepath.Base(prog), line)
		}
	}
	return nil
}
