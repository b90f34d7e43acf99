package main

import (
	"fmt"
	"io"
	"os"

	"github.com/rumptools/rumptools/pkg/atomicfile"
	"github.com/rumptools/rumptools/pkg/iso9660"
)

// write writes the image to dest ("-": stdout) atomically (see
// pkg/atomicfile): dest appears only once complete, and an interrupted
// or failed run leaves nothing. inputs are files the image reads, which
// dest must not be.
func write(im *iso9660.Image, dest string, inputs []string, stdout, stderr io.Writer) error {
	size, err := im.Size()
	if err != nil {
		return err
	}
	if dest == "-" {
		_, err := im.WriteTo(progressFor(stdout, stderr, size))
		return err
	}
	if st, err := os.Stat(dest); err == nil {
		for _, in := range inputs {
			if in == "" {
				continue
			}
			if si, err := os.Stat(in); err == nil && os.SameFile(st, si) {
				return fmt.Errorf("%s: the output would replace an input", dest)
			}
		}
	}
	f, err := atomicfile.Create(dest, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := im.WriteTo(progressFor(f, stderr, size)); err != nil {
		return err
	}
	return f.Commit()
}

// progressFor shows progress on stderr when it is a terminal; otherwise it
// returns w itself, so the image writer can hand file copies to the kernel.
func progressFor(w, stderr io.Writer, total int64) io.Writer {
	f, ok := stderr.(*os.File)
	if !ok {
		return w
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return w
	}
	return &progress{w: w, out: f, total: total}
}

// progress counts bytes on their way to w and prints a percentage.
type progress struct {
	w     io.Writer
	out   io.Writer
	total int64
	n     int64
	shown int64
}

func (p *progress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.add(int64(n))
	return n, err
}

// ReadFrom keeps the destination's own ReadFrom (copy_file_range) in use.
func (p *progress) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := p.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{p.w}, r)
	}
	p.add(n)
	return n, err
}

func (p *progress) add(n int64) {
	p.n += n
	if p.total <= 0 {
		return
	}
	pct := p.n * 100 / p.total
	if pct != p.shown || p.n == p.total {
		p.shown = pct
		fmt.Fprintf(p.out, "\rrump-mkiso: %3d%% of %d MiB", pct, p.total>>20)
		if p.n == p.total {
			fmt.Fprint(p.out, "\r\033[K")
		}
	}
}
