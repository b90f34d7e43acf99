package qemu

import (
	"fmt"
	"os"
	"strings"

	shellwords "github.com/mattn/go-shellwords"
)

// SplitArgs splits -g's raw QEMU arguments as a shell would split words
// (quotes group, backslash escapes), without expanding anything. Shell
// operators (; | & < >) are refused: nothing runs these words through a
// shell, so they could only be a mistake.
func SplitArgs(s string) ([]string, error) {
	p := &shellwords.Parser{} // no environment, backtick or comment handling
	words, err := p.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q: unbalanced quotes or parentheses", s)
	}
	if p.Position >= 0 {
		// Position counts runes up to the operator (or up to the file
		// descriptor number before a redirection).
		r := []rune(s)
		at := p.Position
		for at < len(r) && strings.ContainsRune("0123456789", r[at]) {
			at++
		}
		op := ""
		if at < len(r) {
			op = string(r[at])
		}
		return nil, fmt.Errorf("%q: shell operator %q at character %d: QEMU arguments are not run by a shell (quote it if QEMU should see it)", s, op, at+1)
	}
	return words, nil
}

// KVM reports whether /dev/kvm can be used.
func KVM() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// Accel resolves an --accel list such as "kvm:tcg" (tried in order) into
// the accelerators to pass: kvm is dropped when kvmOK says it is not usable
// and another choice follows, so that QEMU does not warn about the fallback.
func Accel(spec string, kvmOK func() error) ([]string, error) {
	var out []string
	var kvmErr error
	for _, a := range strings.Split(spec, ":") {
		if a == "" || strings.ContainsAny(a, ", =") {
			return nil, fmt.Errorf("--accel %q: want accelerators separated by ':', e.g. kvm:tcg", spec)
		}
		if a == "kvm" {
			if kvmErr = kvmOK(); kvmErr != nil {
				continue
			}
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--accel %s: KVM is not usable here (%v): use --accel tcg", spec, kvmErr)
	}
	return out, nil
}
