package main

import (
	"bufio"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// writeOutput runs write on standard output ("-") or on a temporary file
// next to name that is renamed to name only when write succeeds; on
// failure or an interrupting signal the temporary file is removed, so an
// interrupted run leaves no partial output.
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
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			os.Remove(tmp.Name())
			os.Exit(1)
		case <-done:
		}
	}()
	defer func() {
		signal.Stop(sig)
		close(done)
	}()
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
