package xen

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rumptools/rumptools/pkg/shellquote"
)

// domidVar is how the script refers to the domain id it reads.
const domidVar = "$domid"

// Script returns a POSIX shell script that does what Run does for the xl
// file at file: it writes the xl config (a here-document, then a rename),
// then runs the commands of Calls in order, destroying the domain and
// removing the file when a step after "xl create -p" fails. What it cannot
// do is watch the console for rumprun's exit markers: an interactive
// script destroys the domain when "xl console" ends.
func (d *Domain) Script(file string, interactive bool) ([]byte, error) {
	data, err := d.Config.Marshal()
	if err != nil {
		return nil, err
	}
	// Every line of an xl file is a comment or holds " = ": none can be
	// the here-document's delimiter.
	const delim = "XL_CONFIG"
	q := shellquote.Quote
	calls := d.Calls(file, domidVar, interactive)
	kind := "PV"
	if d.HVM {
		kind = "HVM"
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "#!/bin/sh\n# rump-launch-xen: start Xen %s domain %s.\nset -u\n", kind, d.Name)
	// Paths never start with "-" (File), and "--" ends the options all the same.
	fmt.Fprintf(&b, "(umask 077 && mkdir -p -- %s) || exit 1\n", q(notOption(filepath.Dir(file))))
	fmt.Fprintf(&b, "cat > %s <<'%s' || exit 1\n%s%s\n", q(file+".tmp"), delim, data, delim)
	fmt.Fprintf(&b, "mv -f -- %s %s || exit 1\n", q(file+".tmp"), q(file))

	fmt.Fprintf(&b, "%s || { rm -f -- %s; exit 1; }\n", shellquote.Join(calls[0]), q(file))
	calls = calls[1:]
	cleanup := fmt.Sprintf("\t%s\n\trm -f -- %s\n", shellquote.Join([]string{"xl", "destroy", d.Name}), q(file))

	// The steps before the domain runs, guarded together.
	var guarded []string
	for len(calls) > 0 && calls[0][1] != "console" && calls[0][1] != "unpause" {
		c := calls[0]
		calls = calls[1:]
		switch {
		case c[0] == "xl" && c[1] == "domid":
			guarded = append(guarded, "domid=$("+shellquote.Join(c)+")")
		case c[0] == "xenstore-write":
			// The path has only safe characters besides $domid.
			guarded = append(guarded, `xenstore-write "`+c[1]+`" `+q(c[2]))
		default:
			guarded = append(guarded, shellquote.Join(c))
		}
	}
	if !interactive {
		if len(calls) > 0 {
			guarded = append(guarded, shellquote.Join(calls[0])) // xl unpause
		}
		if len(guarded) > 0 {
			writeGuarded(&b, guarded, cleanup+"\texit 1\n")
		}
		fmt.Fprintf(&b, "echo %s\n", q("xen:"+d.Name))
		return b.Bytes(), nil
	}
	if len(guarded) > 0 {
		writeGuarded(&b, guarded, cleanup+"\texit 1\n")
	}
	// xl console runs while the domain is unpaused, as in Run: it keeps
	// the terminal through a copy of standard input (a background command
	// of a script gets /dev/null otherwise).
	console, unpause, destroy := calls[0], calls[1], calls[2]
	fmt.Fprintf(&b, "exec 3<&0\n%s <&3 3<&- &\nconsole=$!\n", shellquote.Join(console))
	writeGuarded(&b, []string{shellquote.Join(unpause)}, cleanup+"\twait \"$console\"\n\texit 1\n")
	fmt.Fprintf(&b, "wait \"$console\"\n%s 2>/dev/null\n", shellquote.Join(destroy))
	return b.Bytes(), nil
}

// writeGuarded writes "if ! a || ! b; then onFail fi".
func writeGuarded(b *bytes.Buffer, cmds []string, onFail string) {
	b.WriteString("if ! " + strings.Join(cmds, " ||\n\t! ") + "\nthen\n" + onFail + "fi\n")
}
