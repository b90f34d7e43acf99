package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		argv           []string
		n              bool
		operands, rest []string
		err            string
	}{
		{[]string{"a", "-n", "b"}, true, []string{"a", "b"}, nil, ""},
		{[]string{"-n", "a", "--", "-x", "--", "y"}, true, []string{"a"}, []string{"-x", "--", "y"}, ""},
		{[]string{"--", "-n"}, false, nil, []string{"-n"}, ""},
		{[]string{"a", "-x"}, false, nil, nil, "flag provided but not defined: -x"},
		{nil, false, nil, nil, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		n := fs.Bool("n", false, "")
		operands, rest, err := Parse(fs, tc.argv)
		if tc.err != "" {
			var ue UsageError
			if !errors.As(err, &ue) || ue.Msg != tc.err {
				t.Errorf("%q: error %v, want usage error %q", tc.argv, err, tc.err)
			}
			continue
		}
		if err != nil || *n != tc.n || !reflect.DeepEqual(operands, tc.operands) || !reflect.DeepEqual(rest, tc.rest) {
			t.Errorf("%q: operands %q rest %q -n %v err %v", tc.argv, operands, rest, *n, err)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, _, err := Parse(fs, []string{"x", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestExit(t *testing.T) {
	for _, tc := range []struct {
		err            error
		code           int
		stdout, stderr string
	}{
		{nil, 0, "", ""},
		{flag.ErrHelp, 0, "usage: t\n", ""},
		{Usagef("no %s given", "kernel"), 2, "", "t: no kernel given\nrun 't -h' for usage\n"},
		{errors.New("app.json:1:2: bad"), 1, "", "t: app.json:1:2: bad\n"},
	} {
		var out, errb bytes.Buffer
		if code := Exit("t", "usage: t\n", tc.err, &out, &errb); code != tc.code || out.String() != tc.stdout || errb.String() != tc.stderr {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.err, code, out.String(), errb.String())
		}
	}
}

func TestStrings(t *testing.T) {
	var s Strings
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(&s, "e", "")
	if err := fs.Parse([]string{"-e", "A=1", "-e", "B=2"}); err != nil || !reflect.DeepEqual([]string(s), []string{"A=1", "B=2"}) {
		t.Errorf("%q %v", s, err)
	}
}

func TestFail(t *testing.T) {
	l := config.ErrorList{
		{File: "app.json", Line: 3, Col: 7, Msg: "unknown key"},
		{Msg: "wire form is 5000 bytes"},
	}
	var errb bytes.Buffer
	if code := Fail("t", fmt.Errorf("wrapped: %w", l), &errb); code != 1 ||
		errb.String() != "app.json:3:7: unknown key\nt: wire form is 5000 bytes\n" {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
