// Command rump-mkiso writes bootable, hybrid ISO images of rumprun
// kernels, and ISO data images for a config's "blk" entries.
// See rump-mkiso(1).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/bootloader"
	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/launch"
)

const usage = `usage: rump-mkiso [-c CFG] [-o FILE|-] [-B grub|syslinux] [-N HOSTNAME] [--name NAME]
                  [-e NAME=VALUE]... [--protocol rumprun|initrd/1] KERNEL [INITRD] [-- ARG...]
       rump-mkiso -d DIR -o FILE|- [--name LABEL]

Writes a bootable ISO 9660 image of a rumprun kernel that boots from a CD
drive and, written to a disk or USB stick, as a disk. The config reaches the
kernel as a multiboot module: in wire form for today's kernels, inside the
initrd for kernels that declare initrd/1. With -d, writes a data image of a
directory (Rock Ridge: names, modes and symbolic links kept) for a config's
"blk" entry.

  -c CFG        json.cfg (canonical or rumprun dialect; - reads standard input);
                default: the initrd's /json.cfg, else the baked programs' names
  -o FILE       output file, written atomically; - writes to standard output;
                default: NAME.iso
  -B LOADER     boot loader: grub (default; grub-pc-bin, grub-common) or
                syslinux (ISOLINUX and mboot.c32; isolinux, syslinux-common)
  -N HOSTNAME   set the guest's hostname in the config (and so the image
                name, unless --name)
  --name NAME   image name only: the volume label and the default output
                NAME.iso (default: the hostname, else the kernel's file name
                without extension; with -d, DIR's name)
  -e NAME=VALUE set an environment variable in the config (repeatable)
  --protocol P  boot protocol: rumprun or initrd/1 (default: from the kernel's notes)
  -d DIR        write a data image of DIR instead (no boot loader)
  -- ARG...     the program's arguments (its argv after the name)
  -h            print this help

Time stamps come from SOURCE_DATE_EPOCH, else 1980-01-01: the same inputs
give the same bytes.
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rump-mkiso", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := fs.String("c", "", "")
	out := fs.String("o", "", "")
	loaderName := fs.String("B", "grub", "")
	hostname := fs.String("N", "", "")
	name := fs.String("name", "", "")
	protocol := fs.String("protocol", "", "")
	dir := fs.String("d", "", "")
	var env cli.Strings
	fs.Var(&env, "e", "")

	// Flags may follow the operands (KERNEL -o x.iso); arguments after "--"
	// are the program's, never flags.
	operands, progArgs, err := cli.Parse(fs, args)
	if err != nil {
		return cli.Exit("rump-mkiso", usage, err, stdout, stderr)
	}

	epoch, err := cli.SourceDateEpoch(iso9660.DefaultTime, 1<<32-1, "the generated initrd (newc)")
	if err != nil {
		fmt.Fprintf(stderr, "rump-mkiso: %v\n", err)
		return 1
	}

	if *dir != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, f := range []string{"c", "B", "protocol", "e"} {
			if set[f] {
				return usageError(stderr, "-"+f+" has no meaning with -d")
			}
		}
		if set["N"] {
			return usageError(stderr, "-N sets the hostname in a config, which a data image has not: name the image with --name LABEL")
		}
		if len(operands) > 0 || progArgs != nil {
			return usageError(stderr, "-d takes no KERNEL, INITRD or program arguments")
		}
		if *out == "" {
			return usageError(stderr, "-d needs -o FILE")
		}
		return status(stderr, dataImage(*dir, *out, *name, epoch, stdout, stderr))
	}

	if len(operands) < 1 || len(operands) > 2 {
		return usageError(stderr, "want KERNEL and optionally INITRD")
	}
	// NAME.iso is written in the current directory, never elsewhere.
	if *out == "" && strings.ContainsRune(*name, '/') {
		return usageError(stderr, fmt.Sprintf("--name %q: a name with '/' cannot name the output NAME.iso: give -o FILE", *name))
	}
	loader, err := bootloader.ParseLoader(*loaderName)
	if err != nil {
		return usageError(stderr, "-B: "+err.Error())
	}
	o := launch.Options{Kernel: operands[0], ConfigFile: *cfg, Stdin: stdin, Env: env, Hostname: *hostname, Name: *name, Args: progArgs, Protocol: *protocol}
	if len(operands) == 2 {
		o.Initrd = operands[1]
	}
	plan, warnings, err := bootloader.NewPlan(o)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	if err != nil {
		return cli.Fail("rump-mkiso", err, stderr)
	}
	im, err := bootloader.Build(bootloader.Options{Plan: plan, Loader: loader, Time: epoch})
	if errors.Is(err, bootloader.ErrTimeRange) {
		// The time came from the environment: say which variable.
		err = fmt.Errorf("SOURCE_DATE_EPOCH=%s: %w", os.Getenv("SOURCE_DATE_EPOCH"), err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rump-mkiso: %v\n", err)
		return 1
	}
	dest := *out
	if dest == "" {
		dest = plan.Name + ".iso"
	}
	inputs := []string{o.Kernel, o.Initrd}
	if *cfg != "-" {
		inputs = append(inputs, *cfg)
	}
	return status(stderr, write(im, dest, inputs, stdout, stderr))
}

func usageError(stderr io.Writer, msg string) int {
	return cli.Exit("rump-mkiso", usage, cli.Usagef("%s", msg), nil, stderr)
}

func status(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "rump-mkiso: %v\n", err)
		return 1
	}
	return 0
}

func dataImage(dir, out, label string, t time.Time, stdout, stderr io.Writer) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	if label == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		label = filepath.Base(abs)
	}
	// Through an os.Root, not os.DirFS: files are opened when the image is
	// written, and a directory swapped for a symbolic link by then must not
	// lead outside dir.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	im := &iso9660.Image{VolumeID: iso9660.VolumeID(label), Time: t, Application: "RUMP-MKISO"}
	if err := im.AddFS(root.FS()); err != nil {
		return err
	}
	return write(im, out, nil, stdout, stderr)
}
