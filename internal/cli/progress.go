package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Progress returns how a tool reports long work (an upload): on stderr
// when that is a terminal, one line rewritten in place at most ten times a
// second, and always the final report, which ends the line. When stderr is
// not a terminal it returns nil: the tool stays silent.
func Progress(stderr io.Writer) func(final bool, format string, args ...any) {
	f, ok := stderr.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	var last time.Time
	return func(final bool, format string, args ...any) {
		if !final && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(f, "\r"+format, args...)
		if final {
			fmt.Fprintln(f)
		}
	}
}
