package config_test

// Parse checks the rules of the JSON Schema itself (shape.go); rump-cfgcheck
// also runs gojsonschema (package config/schema). These tests prove that the
// two agree: Parse's check against the schema's rules rejects exactly the
// documents gojsonschema rejects, with an error about every value
// gojsonschema names, so that whatever gojsonschema rejects, Parse rejects.
// Parse as a whole rejects more (the semantic checks the schema cannot
// express, such as "mask": 24.0, which the schema calls an integer); never
// less.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/config/schema"
	"github.com/xeipuuv/gojsonschema"
)

// verdict is how the checkers judged one input.
type verdict struct {
	document     bool                // the input is a document (syntax and normalisation passed)
	schemaErrs   []config.Diagnostic // gojsonschema's
	shapeErrs    []config.Diagnostic // Parse's check against the schema's rules
	parseRejects bool
}

// agree runs gojsonschema and Parse on data and fails the test unless
// Parse's own check against the schema's rules (checkShape) rejects exactly
// what gojsonschema rejects, with an error at, inside or around every value
// gojsonschema names, and Parse as a whole rejects it too.
func agree(t *testing.T, data []byte) verdict {
	t.Helper()
	var v verdict
	_, _, err := config.Parse("in.json", data)
	if err != nil {
		v.parseRejects = true
		if _, ok := err.(config.ErrorList); !ok {
			t.Fatalf("Parse returned %T, want an ErrorList: %v", err, err)
		}
	}
	doc, _, derr := config.ReadDocument("in.json", data)
	shape, isDoc := config.ShapeErrors(data)
	if (derr == nil) != isDoc {
		t.Fatalf("ReadDocument error %v, but ShapeErrors sees a document: %v", derr, isDoc)
	}
	if derr != nil {
		if err == nil {
			t.Fatalf("ReadDocument rejects what Parse accepts: %v\ninput %q", derr, data)
		}
		return v // no document: nothing a schema could be asked about
	}
	v.document, v.shapeErrs = true, shape
	v.schemaErrs = schema.Validate(doc)
	switch {
	case len(v.schemaErrs) > 0 && err == nil:
		t.Fatalf("gojsonschema rejects what Parse accepts:\n%s\ninput %q", diagLines(v.schemaErrs), data)
	case len(v.schemaErrs) > 0 && len(shape) == 0:
		t.Fatalf("gojsonschema rejects what Parse's schema check accepts (Parse rejects it for other reasons):\n%s\nParse: %v\ninput %q", diagLines(v.schemaErrs), err, data)
	case len(v.schemaErrs) == 0 && len(shape) > 0:
		t.Fatalf("Parse's schema check rejects what gojsonschema accepts:\n%s\ninput %q", diagLines(shape), data)
	case len(shape) > 0 && err == nil:
		t.Fatalf("Parse accepts despite its schema check:\n%s\ninput %q", diagLines(shape), data)
	}
	for _, d := range v.schemaErrs {
		if !related(d.Pointer, shape) {
			t.Fatalf("gojsonschema's error is about a value Parse's errors do not touch:\n%v\nParse's schema check:\n%s\ninput %q", d, diagLines(shape), data)
		}
	}
	return v
}

// related reports whether one of ds is about the value at ptr, a value
// inside it, or one enclosing it.
func related(ptr string, ds []config.Diagnostic) bool {
	for _, e := range ds {
		if e.Pointer == ptr || strings.HasPrefix(ptr, e.Pointer+"/") || strings.HasPrefix(e.Pointer, ptr+"/") {
			return true
		}
	}
	return false
}

func diagLines(ds []config.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintln(&b, d)
	}
	return b.String()
}

// TestSchemaAgreesOnCorpus runs both checkers over every corpus config and
// every example of json.cfg(5).
func TestSchemaAgreesOnCorpus(t *testing.T) {
	inputs := config.Corpus(t)
	examples, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.cfg"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no dialect files: %v", err)
	}
	schemaRejects, parseOnly, notDoc, accepted := 0, 0, 0, 0
	for _, in := range inputs {
		v := agree(t, in.Data)
		switch {
		case !v.document:
			notDoc++
		case len(v.schemaErrs) > 0:
			schemaRejects++
		case v.parseRejects:
			parseOnly++
		default:
			accepted++
		}
		if (in.Err == "") == v.parseRejects {
			t.Errorf("%s: Parse rejects = %v, corpus says error %q", in.Name, v.parseRejects, in.Err)
		}
	}
	t.Logf("%d corpus configs: %d not documents (syntax, duplicates), %d rejected by gojsonschema and Parse, %d by Parse's semantic checks alone, %d valid",
		len(inputs), notDoc, schemaRejects, parseOnly, accepted)
	// The corpus must exercise the schema, or the agreement proves little.
	if schemaRejects < 25 || accepted < 25 {
		t.Errorf("corpus too thin for the comparison: %d schema rejections, %d valid", schemaRejects, accepted)
	}
}

// TestSchemaAgreesOnGenerated runs both checkers over configs built at
// random from the keys, values and types json.cfg uses, right and wrong.
func TestSchemaAgreesOnGenerated(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	buf := make([]byte, 256)
	schemaRejects, parseOnly, notDoc, accepted := 0, 0, 0, 0
	const n = 4000
	for i := 0; i < n; i++ {
		r.Read(buf)
		v := agree(t, generate(buf))
		switch {
		case !v.document:
			notDoc++
		case len(v.schemaErrs) > 0:
			schemaRejects++
		case v.parseRejects:
			parseOnly++
		default:
			accepted++
		}
	}
	t.Logf("%d generated configs: %d not documents (duplicates), %d rejected by gojsonschema and Parse, %d by Parse's semantic checks alone, %d valid",
		n, notDoc, schemaRejects, parseOnly, accepted)
	if schemaRejects < n/10 || accepted < n/20 {
		t.Errorf("generator too one-sided: %d schema rejections, %d valid of %d", schemaRejects, accepted, n)
	}
}

// FuzzSchemaAgreement mutates config text (corpus seeds): mostly syntax and
// dialect damage.
func FuzzSchemaAgreement(f *testing.F) {
	for _, in := range config.Corpus(f) {
		f.Add(in.Data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, data) })
}

// FuzzSchemaAgreementGenerated turns fuzz input into a config built from
// json.cfg's own keys and values (generate), so that mutations explore
// keys, types and values rather than syntax.
func FuzzSchemaAgreementGenerated(f *testing.F) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 32; i++ {
		b := make([]byte, 64+r.Intn(256))
		r.Read(b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, generate(data)) })
}

// TestCanonicalFormValidates checks that the shipped schema compiles on its
// own (as an editor would load it) and that the canonical form of every
// valid corpus config validates against it, while schema-level mistakes do
// not.
func TestCanonicalFormValidates(t *testing.T) {
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(config.SchemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("json.cfg.schema.json")
	if err != nil || string(file) != string(config.SchemaJSON) {
		t.Fatalf("json.cfg.schema.json and SchemaJSON differ (%v)", err)
	}
	n := 0
	for _, in := range config.Corpus(t) {
		if in.Err != "" {
			continue
		}
		c, _, err := config.Parse("x", in.Data)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := c.Canonical()
		res, err := s.Validate(gojsonschema.NewBytesLoader(b))
		if err != nil || !res.Valid() {
			t.Errorf("%s: canonical form fails the schema: %v %v", in.Name, err, res.Errors())
		}
		n++
	}
	for _, bad := range []string{`{"host": "x"}`, `{"net": [{"if": "vioif0"}]}`, `{"rc": [{"bin": "a"}]}`, `{"net": {"if": "a", "type": "inet", "method": "dhcp", "mask": "24"}}`} {
		res, err := s.Validate(gojsonschema.NewStringLoader(bad))
		if err != nil || res.Valid() {
			t.Errorf("schema accepts %s", bad)
		}
	}
	if n < 25 {
		t.Errorf("only %d valid corpus configs", n)
	}
}

// generate builds a json.cfg text from b, byte by byte: each byte picks
// the next key, type or value among those json.cfg uses and near misses of
// them. Running out of bytes ends every object and array, so any input
// gives a finite document.
func generate(b []byte) []byte {
	g := &gen{b: b}
	var out strings.Builder
	g.object(&out, "top", 0)
	return []byte(out.String())
}

type gen struct {
	b []byte
	i int
}

func (g *gen) next() int {
	if g.i >= len(g.b) {
		return 0
	}
	g.i++
	return int(g.b[g.i-1])
}

func (g *gen) pick(list []string) string { return list[g.next()%len(list)] }

var (
	// Keys of each kind of object: valid ones, and after "|" near misses.
	genKeys = map[string][2][]string{
		"top": {{"cmdline", "rc", "env", "net", "blk", "hostname", "$schema"}, {"host", "c", "cmdlin", "", "memory", "Net"}},
		"rc":  {{"bin", "argv", "runmode"}, {"bi", "args", "run"}},
		"net": {{"if", "type", "method", "addr", "mask", "gw", "cloner"}, {"i", "adr", "metod"}},
		"blk": {{"source", "path", "fstype", "mountpoint"}, {"fs", "mount", "src"}},
		"env": {{"A", "PATH", "x.y", "a/b", "~0"}, {"A=B", "", "="}},
	}
	genStrings = []string{"", "a", "hello world", "vioif0", "vioif1", "wm0", "xenif0", "eth0", "inet", "inet6", "dhcp",
		"static", "auto", "Dhcp", "dev", "vnd", "etfs", "nfs", "blk", "kernfs", "ffs", "/data", "data", "/", "/a/../b",
		"/dev/ld0a", "ld0a", "xvda", "sda1", "/dev/xvda", "10.0.0.2/24", "10.0.0.2", "10.0.0.1", "10.0.1.1",
		"2001:db8::2/64", "2001:db8::1", "&", "|", "bg", "true", "True", "false", "yes", "24", "255.255.255.0",
		"255.0.255.0", "A=B", "=x", "NAME", strings.Repeat("h", 256), strings.Repeat("h", 255), "web1", "web_1",
		"grüß", "a 'b", "x\\u0041"}
	// Mostly right values of the keys with few of them.
	genValues = map[string][]string{
		"type": {"inet", "inet6"}, "method": {"dhcp", "static", "auto"}, "source": {"dev", "vnd", "etfs"},
		"fstype": {"blk", "kernfs"}, "runmode": {"&", "|"}, "if": {"vioif0", "vioif1", "wm0", "xenif0"},
		"path": {"/dev/ld0a", "/dev/ld1a", "xvda", "sda1", "/img/data.img"}, "mountpoint": {"/data", "/d", "/kern"},
		"addr": {"10.0.0.2/24", "10.0.0.2", "2001:db8::2/64"}, "gw": {"10.0.0.1", "2001:db8::1"},
		"hostname": {"web1", "a.example"}, "cmdline": {"app -v", "hello"}, "bin": {"app", "syslogd"},
	}
	genNumbers = []string{"0", "1", "8", "24", "64", "128", "129", "-1", "-0", "24.0", "2.4e1", "1e2", "1.5", "1e400",
		"0.0", "1E-1", "100e-2", "12345678901234567890"}
)

// value writes one value for the member called key of an object of kind.
func (g *gen) value(out *strings.Builder, kind, key string, depth int) {
	c := g.next()
	// Usually the type the key wants; sometimes anything.
	want := map[string]string{
		"rc": "rc", "net": "net", "blk": "blk", "env": "env", "argv": "strings", "cloner": "bool", "mask": "number",
	}[key]
	if c%10 == 9 || depth > 3 {
		want = []string{"string", "number", "bool", "null", "strings", "object"}[(c/10)%6]
	}
	switch want {
	case "rc", "net", "blk":
		if key == "rc" || g.next()%3 != 0 { // net and blk may be one object
			out.WriteByte('[')
			for n := g.next() % 4; n > 0; n-- {
				g.object(out, key, depth+1)
				if n > 1 {
					out.WriteByte(',')
				}
			}
			out.WriteByte(']')
		} else {
			g.object(out, key, depth+1)
		}
	case "env":
		if g.next()%4 == 0 {
			out.WriteString(quote(g.pick([]string{"A=B", "DEBUG", "=x", "A="})))
		} else {
			g.object(out, "env", depth+1)
		}
	case "strings":
		out.WriteByte('[')
		for n := g.next() % 4; n > 0; n-- {
			if g.next()%6 == 0 {
				out.WriteString(g.pick(genNumbers))
			} else {
				out.WriteString(quote(g.pick(genStrings)))
			}
			if n > 1 {
				out.WriteByte(',')
			}
		}
		out.WriteByte(']')
	case "number":
		if g.next()%3 == 0 {
			out.WriteString(quote(g.pick(genStrings))) // dialect: "mask": "24"
		} else {
			out.WriteString(g.pick(genNumbers))
		}
	case "bool":
		out.WriteString(g.pick([]string{"true", "false", `"true"`, `"True"`, `"false"`, `"yes"`}))
	case "null":
		out.WriteString("null")
	case "object":
		g.object(out, "top", depth+1)
	default:
		if pool := genValues[key]; pool != nil && g.next()%4 != 0 {
			out.WriteString(quote(g.pick(pool)))
		} else {
			out.WriteString(quote(g.pick(genStrings)))
		}
	}
}

func (g *gen) object(out *strings.Builder, kind string, depth int) {
	out.WriteByte('{')
	n := g.next() % 6
	if kind == "top" {
		n = 1 + g.next()%5
	}
	used := map[string]bool{}
	for i := 0; i < n; i++ {
		keys := genKeys[kind]
		key := g.pick(keys[0])
		if g.next()%8 == 0 {
			key = g.pick(keys[1])
		}
		if used[key] && g.next()%8 != 0 {
			continue // a repeated key is mostly just a duplicate-key error
		}
		if len(used) > 0 {
			out.WriteByte(',')
		}
		used[key] = true
		out.WriteString(quote(key))
		out.WriteByte(':')
		g.value(out, kind, key, depth)
	}
	out.WriteByte('}')
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
