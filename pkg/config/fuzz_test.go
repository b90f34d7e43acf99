package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzParse checks what must hold for any input: Parse does not panic,
// every diagnostic has a position, and a config it accepts survives the
// canonical and wire round trips.
func fuzzParse(t *testing.T, data []byte) {
	c, warns, err := Parse("fuzz", data)
	for _, w := range warns {
		if w.Line < 1 || w.Col < 1 || !w.Warning {
			t.Fatalf("bad warning %+v", w)
		}
	}
	if err != nil {
		list, ok := err.(ErrorList)
		if !ok || len(list) == 0 {
			t.Fatalf("error %T %v", err, err)
		}
		for _, d := range list {
			if d.Line < 1 || d.Col < 1 || d.Warning {
				t.Fatalf("bad error %+v", d)
			}
		}
		return
	}
	canon, err := c.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	c2, _, err := Parse("canon", canon)
	if err != nil {
		t.Fatalf("canonical form rejected: %v\n%s\ninput %q", err, canon, data)
	}
	if canon2, _ := c2.Canonical(); !bytes.Equal(canon, canon2) {
		t.Fatalf("canonical form unstable:\n%s\n%s", canon, canon2)
	}
	if w, err := c.Wire(); err == nil {
		if _, _, err := Parse("wire", w); err != nil {
			t.Fatalf("wire form rejected: %v\n%s", err, w)
		}
	}
	for _, target := range Targets {
		c.CheckTarget(target, nil)
		c.HostMap(target, nil)
	}
}

func FuzzParseCanonical(f *testing.F) {
	for _, tc := range corpus {
		if tc.in != "" && tc.in[0] != '@' {
			f.Add([]byte(tc.in))
		}
	}
	f.Fuzz(fuzzParse)
}

func FuzzParseDialect(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.cfg"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{,"env": "A=B",, "env": "C=D", "net": {"if": "xenif0", "cloner": "True", "mask": "255.255.255.0",},},`))
	f.Fuzz(fuzzParse)
}
