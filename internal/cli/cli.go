// Package cli holds what every rumptools command does the same way with its
// command line (DESIGN.md section 7): options before and after operands,
// "--", -h, usage errors with exit status 2, other errors with 1, and
// repeatable options. It defines no flags itself: each main package keeps
// its whole flag set in view.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rumptools/rumptools/pkg/config"
)

// Stdin is how every tool names standard input in messages
// ("<stdin>:3:5: ..."), as compilers do.
const Stdin = "<stdin>"

// A UsageError is a mistake on the command line: exit status 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Sprintf(format, args...)}
}

// Strings is an option that may be given more than once.
type Strings []string

func (s *Strings) String() string     { return strings.Join(*s, " ") }
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// Parse parses argv with fs, whose output should be discarded (Exit does
// the reporting). Options may come before and after the operands, as with
// GNU tools; the first "--" ends them, and everything after it is returned
// untouched as rest (a launcher's program arguments). It returns
// flag.ErrHelp for -h and a UsageError for a bad option.
func Parse(fs *flag.FlagSet, argv []string) (operands, rest []string, err error) {
	opts := argv
	for i, a := range argv {
		if a == "--" {
			opts, rest = argv[:i], append([]string{}, argv[i+1:]...)
			break
		}
	}
	for {
		if err := fs.Parse(opts); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, err
			}
			return nil, nil, UsageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return operands, rest, nil
		}
		operands = append(operands, fs.Arg(0))
		opts = fs.Args()[1:]
	}
}

// Exit reports err as tool's outcome and returns the exit status: 0 for
// nil, and for flag.ErrHelp after printing usage on stdout; 2 for a
// UsageError ("tool: message" and where the usage is); 1 for anything else,
// reported as Fail does.
func Exit(tool, usage string, err error, stdout, stderr io.Writer) int {
	var ue UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\nrun '%s -h' for usage\n", tool, ue.Msg, tool)
		return 2
	}
	return Fail(tool, err, stderr)
}

// Fail reports a failure and returns exit status 1. A config error list
// prints one diagnostic a line in the compiler form (file:line:col:
// pointer: message), and those about no file after the tool's name (a
// value an option set: "tool: -N: message"); any other error prints as
// "tool: message".
func Fail(tool string, err error, stderr io.Writer) int {
	var l config.ErrorList
	if !errors.As(err, &l) {
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
		return 1
	}
	for _, d := range l {
		switch {
		case d.Origin != "": // "tool: -N: message": a value from the command line
			fmt.Fprintf(stderr, "%s: %s\n", tool, d)
		case d.File == "":
			fmt.Fprintf(stderr, "%s: %s\n", tool, d.Msg)
		default:
			fmt.Fprintln(stderr, d)
		}
	}
	return 1
}
