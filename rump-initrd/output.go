package main

import (
	"bufio"
	"io"
	"os"

	"github.com/rumptools/rumptools/pkg/atomicfile"
)

// writeOutput runs write on standard output ("-") or on name, written
// atomically (pkg/atomicfile): name appears only when write succeeds, and
// a failure or an interrupting signal, even SIGKILL, leaves nothing.
func writeOutput(name string, stdout io.Writer, write func(io.Writer) error) error {
	if name == "-" {
		if f, ok := stdout.(*os.File); ok {
			// A file lets the writer hand large copies to the kernel.
			return write(f)
		}
		bw := bufio.NewWriter(stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	// The *atomicfile.File is an *os.File too, for the same reason.
	f, err := atomicfile.Create(name, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}
