package config

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/xeipuuv/gojsonschema"
)

// SchemaJSON is the JSON Schema (draft-07) of the canonical json.cfg, the
// same bytes as pkg/config/json.cfg.schema.json that editors can use.
//
//go:embed json.cfg.schema.json
var SchemaJSON []byte

var (
	schemaOnce sync.Once
	schema     *gojsonschema.Schema
	schemaErr  error
)

func compiledSchema() *gojsonschema.Schema {
	schemaOnce.Do(func() {
		schema, schemaErr = gojsonschema.NewSchema(gojsonschema.NewBytesLoader(SchemaJSON))
	})
	if schemaErr != nil {
		// The schema is embedded and covered by tests: failing here is a build defect.
		panic("config: embedded schema does not compile: " + schemaErr.Error())
	}
	return schema
}

// Valid keys of each object kind, for suggestions and prefix detection.
var (
	topKeys = []string{"$schema", "hostname", "cmdline", "rc", "env", "net", "blk"}
	rcKeys  = []string{"bin", "argv", "runmode"}
	netKeys = []string{"if", "cloner", "type", "method", "addr", "mask", "gw"}
	blkKeys = []string{"source", "path", "fstype", "mountpoint"}
)

// keysAt returns the valid keys of the object at ptr and what to call it.
func keysAt(ptr string) ([]string, string) {
	seg := strings.Split(ptr, "/")
	switch {
	case ptr == "":
		return topKeys, "json.cfg"
	case len(seg) == 3 && seg[1] == "rc":
		return rcKeys, "an rc entry"
	case len(seg) == 3 && seg[1] == "net":
		return netKeys, "a net entry"
	case len(seg) == 3 && seg[1] == "blk":
		return blkKeys, "a blk entry"
	}
	return nil, "here"
}

// validate runs the schema over the normalised tree and maps each error's
// path back to a source position.
func validate(v any, vpos, kpos map[string]pos) []diag {
	res, err := compiledSchema().Validate(gojsonschema.NewRawLoader(v))
	if err != nil {
		return []diag{{pos: pos{1, 1}, msg: "schema validation failed: " + err.Error()}}
	}
	if res.Valid() {
		return nil
	}
	errs := res.Errors()
	var ds []diag
	for _, e := range errs {
		ptr := contextPointer(e.Context())
		if e.Type() == "pattern" && ptr == "/env" {
			continue // the invalid_property_name error names the key
		}
		if e.Type() == "number_one_of" {
			// The branch that matched best explains the problem better.
			if hasErrorBelow(errs, ptr) {
				continue
			}
		}
		ds = append(ds, schemaDiag(e, ptr, vpos, kpos))
	}
	return dedupe(ds)
}

func hasErrorBelow(errs []gojsonschema.ResultError, ptr string) bool {
	for _, e := range errs {
		if e.Type() != "number_one_of" && strings.HasPrefix(contextPointer(e.Context())+"/", ptr+"/") {
			return true
		}
	}
	return false
}

// contextPointer turns gojsonschema's "(root).a.b" context into a JSON
// pointer. It asks for a NUL delimiter, which no key can contain (the parser
// refuses NUL), so keys holding dots survive.
func contextPointer(c *gojsonschema.JsonContext) string {
	parts := strings.Split(c.String("\x00"), "\x00")
	var b strings.Builder
	for _, p := range parts[1:] {
		b.WriteByte('/')
		b.WriteString(pointerEscape(p))
	}
	return b.String()
}

func lastSegment(ptr string) string {
	s := ptr[strings.LastIndexByte(ptr, '/')+1:]
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// describeAt names the value at ptr for a message: "net[0].method" style
// is what users scan for, but the pointer is exact; use the key name.
func describeAt(ptr string) string {
	if ptr == "" {
		return "json.cfg"
	}
	seg := lastSegment(ptr)
	if seg != "" && seg[0] >= '0' && seg[0] <= '9' {
		parent := lastSegment(parentPointer(ptr))
		return fmt.Sprintf("%q entry %s", parent, seg)
	}
	return fmt.Sprintf("%q", seg)
}

func schemaDiag(e gojsonschema.ResultError, ptr string, vpos, kpos map[string]pos) diag {
	d := diag{ptr: ptr, pos: lookup(vpos, ptr)}
	det := e.Details()
	switch e.Type() {
	case "additional_property_not_allowed":
		prop, _ := det["property"].(string)
		kptr := ptr + "/" + pointerEscape(prop)
		d.ptr, d.pos = kptr, lookup(kpos, kptr)
		d.msg = unknownKey(prop, ptr)
	case "required":
		prop, _ := det["property"].(string)
		_, what := keysAt(ptr)
		d.msg = fmt.Sprintf("missing key %q in %s", prop, what)
	case "invalid_type":
		if ptr == "/net" || ptr == "/blk" {
			d.msg = fmt.Sprintf("%s must be an array of objects (or one object), not %s %v", describeAt(ptr), articleOf(det["given"]), det["given"])
			break
		}
		d.msg = fmt.Sprintf("%s must be %s %v, not %s %v", describeAt(ptr), articleOf(det["expected"]), det["expected"], articleOf(det["given"]), det["given"])
	case "enum":
		given, _ := e.Value().(string)
		allowed := strings.Split(fmt.Sprint(det["allowed"]), ", ")
		for i, a := range allowed {
			// gojsonschema marshals the list with HTML escaping ("\u0026").
			if u, err := strconv.Unquote(a); err == nil {
				allowed[i] = strconv.Quote(u)
			}
		}
		d.msg = fmt.Sprintf("%s must be one of %s, not %s", describeAt(ptr), strings.Join(allowed, ", "), jsonish(e.Value()))
		var plain []string
		for _, a := range allowed {
			plain = append(plain, strings.Trim(a, `"`))
		}
		if s := suggest(given, plain); s != "" {
			d.msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
	case "string_gte":
		d.msg = fmt.Sprintf("%s must not be empty", describeAt(ptr))
	case "string_lte":
		d.msg = fmt.Sprintf("%s is too long (at most %v characters)", describeAt(ptr), det["max"])
	case "array_min_items":
		d.msg = fmt.Sprintf("%s must have at least %v entry (remove it to leave it out)", describeAt(ptr), det["min"])
	case "pattern":
		if lastSegment(ptr) == "mountpoint" {
			d.msg = fmt.Sprintf("mountpoint %s must be an absolute path", jsonish(e.Value()))
		} else {
			d.msg = fmt.Sprintf("%s: %s", describeAt(ptr), e.Description())
		}
	case "invalid_property_name":
		prop, _ := det["property"].(string)
		kptr := ptr + "/" + pointerEscape(prop)
		d.ptr, d.pos = kptr, lookup(kpos, kptr)
		d.msg = fmt.Sprintf("invalid environment variable name %q (a name cannot contain '=')", prop)
	case "number_gte", "number_lte":
		d.msg = fmt.Sprintf("%s must be between 0 and 128, not %v", describeAt(ptr), e.Value())
	default:
		d.msg = fmt.Sprintf("%s: %s", describeAt(ptr), e.Description())
	}
	return d
}

func articleOf(v any) string {
	s := fmt.Sprint(v)
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

func jsonish(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// unknownKey explains a key that is not valid in the object at ptr.
func unknownKey(key, ptr string) string {
	valid, what := keysAt(ptr)
	for _, k := range valid {
		if key != "" && strings.HasPrefix(k, key) {
			return fmt.Sprintf("unknown key %q in %s: rumprun kernels would silently read it as %q; write %q", key, what, k, k)
		}
	}
	if key == "" && ptr == "" {
		return fmt.Sprintf("empty key in %s: rumprun kernels would silently read it as %q", what, "cmdline")
	}
	msg := fmt.Sprintf("unknown key %q in %s", key, what)
	if s := suggest(key, valid); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if len(valid) > 0 {
		msg += fmt.Sprintf(" (valid keys: %s)", strings.Join(valid, ", "))
	}
	return msg
}

func lookup(m map[string]pos, ptr string) pos {
	for q := ptr; ; q = parentPointer(q) {
		if p, ok := m[q]; ok || q == "" {
			return p
		}
	}
}

// dedupe removes repeated messages and sorts by position.
func dedupe(ds []diag) []diag {
	seen := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		k := fmt.Sprint(d.pos, d.msg)
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	sortDiags(out)
	return out
}

func sortDiags(ds []diag) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].pos.line != ds[j].pos.line {
			return ds[i].pos.line < ds[j].pos.line
		}
		return ds[i].pos.col < ds[j].pos.col
	})
}

// suggest returns the candidate nearest to s by edit distance, if near enough.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) <= 3 {
		limit = 1
	}
	if bestD <= limit || (bestD <= 3 && len(s) >= 8) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
