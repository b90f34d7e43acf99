package config

import (
	"sort"
	"strings"
	"testing"
)

// TestRulesFollowSchema checks that the rules Parse reads from the embedded
// schema hold what the schema says, and that the key lists used for
// suggestions name exactly the schema's properties.
func TestRulesFollowSchema(t *testing.T) {
	r := rootRule()
	if r.typ != "object" || !r.closed {
		t.Fatalf("root rule: type %q closed %v", r.typ, r.closed)
	}
	sameKeys := func(what string, props map[string]*rule, keys []string) {
		var got []string
		for k := range props {
			got = append(got, k)
		}
		want := append([]string(nil), keys...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: schema has keys %v, the suggestion list %v", what, got, want)
		}
	}
	sameKeys("json.cfg", r.props, topKeys)
	rc := r.props["rc"].items
	sameKeys("rc entry", rc.props, rcKeys)
	net := r.props["net"].oneOf[0]
	sameKeys("net entry", net.props, netKeys)
	sameKeys("blk entry", r.props["blk"].oneOf[0].props, blkKeys)
	if r.props["net"].oneOf[1].items != net {
		t.Errorf("net: the array form does not share the object form's rule")
	}
	if got := strings.Join(net.props["method"].enum, ","); got != "dhcp,static,auto" {
		t.Errorf("method enum %q", got)
	}
	if m := net.props["mask"]; m.typ != "integer" || *m.min != 0 || *m.max != 128 {
		t.Errorf("mask rule %+v", m)
	}
	if h := r.props["hostname"]; h.minLen != 1 || h.maxLen != 255 {
		t.Errorf("hostname rule %+v", h)
	}
	if strings.Join(rc.required, ",") != "bin,argv" {
		t.Errorf("rc required %v", rc.required)
	}
}

// TestRulesRefuseUnknownKeywords: a schema keyword Parse does not check
// must stop the build's tests, not be ignored silently.
func TestRulesRefuseUnknownKeywords(t *testing.T) {
	for _, s := range []string{
		`{"type": "object", "properties": {"a": {"type": "string", "format": "hostname"}}}`,
		`{"anyOf": [{"type": "string"}]}`,
		`{"type": ["string", "null"]}`,
		`{"$ref": "#/definitions/missing"}`,
		`{"enum": [1, 2]}`,
	} {
		if _, err := loadRules([]byte(s)); err == nil {
			t.Errorf("loadRules accepts %s", s)
		}
	}
	if _, err := loadRules([]byte(`{"definitions": {"x": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/x"}}}`)); err != nil {
		t.Errorf("loadRules: %v", err)
	}
}

func TestIntegral(t *testing.T) {
	for _, tc := range []struct {
		lit  string
		want bool
	}{
		{"0", true}, {"-0", true}, {"24", true}, {"24.0", true}, {"2.4e1", true}, {"100e-2", true}, {"1e400", true},
		{"12345678901234567890", true}, {"0.0", true}, {"0e-5", true}, {"1E+2", true},
		{"1.5", false}, {"1e-1", false}, {"1e-400", false}, {"-0.5", false}, {"10e-2", false}, {"1.25e1", false},
	} {
		if got := integral(tc.lit); got != tc.want {
			t.Errorf("integral(%s) = %v, want %v", tc.lit, got, tc.want)
		}
	}
}

// TestShapeMessages covers the schema rules the corpus does not reach.
func TestShapeMessages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": 200}}`,
			`1:106: /net/0/mask: "mask" must be between 0 and 128, not 200`},
		{`{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": 1e400}}`,
			`1:106: /net/0/mask: "mask" must be between 0 and 128, not 1e400`},
		{`{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": 2.5}}`,
			`1:106: /net/0/mask: "mask" must be an integer, not a number`},
		{`{"rc": [{"bin": "a", "argv": [], "runmode": 1e400}]}`, `1:45: /rc/0/runmode: "runmode" must be one of "&", "|", not 1e400`},
		{`{"rc": [{"bin": "a", "argv": [], "runmode": ["&"]}]}`, `1:45: /rc/0/runmode: "runmode" must be one of "&", "|", not an array`},
		{`{"cmdline": "a", "hostname": "` + strings.Repeat("h", 256) + `"}`, `1:30: /hostname: "hostname" is too long (at most 255 characters)`},
		{`{"cmdline": "a", "net": null}`, `1:25: /net: "net" must be an array of objects (or one object), not a null`},
		{`{"cmdline": "a", "blk": [{"source": "dev", "path": "/dev/ld0a"}, 7]}`, `1:66: /blk/1: "blk" entry 1 must be an object, not an integer`},
		{`{"rc": [{"bin": "a", "argv": ["x", 1.5]}]}`, `1:36: /rc/0/argv/1: "argv" entry 1 must be a string, not a number`},
		{`{"cmdline": "a", "env": {"": "x"}}`, `1:26: /env/: invalid environment variable name ""`},
		{`{"cmdline": "a", "env": []}`, `1:25: /env: "env" must be an object, not an array`},
	} {
		_, _, err := Parse("t.json", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), "t.json:"+tc.want) {
			t.Errorf("%s\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
	// "mask": 24.0, an integer to the schema, is taken as 24:
	// TestMaskWrittenAsNumber.
}
