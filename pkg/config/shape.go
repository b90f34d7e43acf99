package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Parse checks the shape of a config (keys, types, required keys, enums,
// lengths, patterns, ranges) against the embedded JSON Schema itself: it
// reads SchemaJSON once into rules and applies the draft-07 keywords the
// schema uses, reporting each violation at its source position in words
// for people. Doing this here rather than with a general JSON Schema
// validator keeps gojsonschema (and the net/http and crypto packages it
// pulls in) out of every tool that only reads configs, such as the
// launchers. rump-cfgcheck runs gojsonschema as well (package
// config/schema), and the differential tests and fuzz targets there prove
// that Parse rejects every document gojsonschema rejects.

// rule is one (sub)schema, restricted to the keywords listed in
// schemaKeywords. A schema using any other keyword is a build defect:
// loading panics, and the tests load it.
type rule struct {
	typ      string           // "type": "object", "array", "string", "boolean", "integer", "number", "null"; "" for any
	props    map[string]*rule // "properties"
	closed   bool             // "additionalProperties": false
	extra    *rule            // "additionalProperties" as a schema
	required []string         // "required"
	names    *rule            // "propertyNames"
	items    *rule            // "items" (one schema for every element)
	minItems int              // "minItems"; -1 when absent
	minLen   int              // "minLength" in characters; -1 when absent
	maxLen   int              // "maxLength" in characters; -1 when absent
	pattern  *regexp.Regexp   // "pattern"
	enum     []string         // "enum" (strings only)
	min, max *float64         // "minimum", "maximum"
	oneOf    []*rule          // "oneOf"
}

var schemaKeywords = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "definitions": true, "$ref": true,
	"type": true, "properties": true, "additionalProperties": true, "required": true, "propertyNames": true,
	"items": true, "minItems": true, "minLength": true, "maxLength": true, "pattern": true, "enum": true,
	"minimum": true, "maximum": true, "oneOf": true,
}

// rootRule returns the rules of SchemaJSON, read on first use.
var rootRule = sync.OnceValue(func() *rule {
	r, err := loadRules(SchemaJSON)
	if err != nil {
		// The schema is embedded and covered by tests: failing here is a build defect.
		panic("config: embedded schema: " + err.Error())
	}
	return r
})

// loadRules reads a JSON Schema into rules.
func loadRules(schemaJSON []byte) (*rule, error) {
	dec := json.NewDecoder(bytes.NewReader(schemaJSON))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	l := &ruleLoader{root: root, refs: map[string]*rule{}}
	return l.load(root, "#")
}

type ruleLoader struct {
	root map[string]any
	refs map[string]*rule // "$ref" target -> its rule, so a reference loads once
}

func (l *ruleLoader) load(s map[string]any, where string) (*rule, error) {
	if ref, ok := s["$ref"].(string); ok {
		if len(s) != 1 && !(len(s) == 2 && s["description"] != nil) {
			return nil, fmt.Errorf("%s: keywords next to $ref (ignored by draft-07)", where)
		}
		if r := l.refs[ref]; r != nil {
			return r, nil
		}
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		defs, _ := l.root["definitions"].(map[string]any)
		target, _ := defs[name].(map[string]any)
		if !ok || target == nil {
			return nil, fmt.Errorf("%s: unresolvable $ref %q", where, ref)
		}
		r := &rule{}
		l.refs[ref] = r // placeholder first: a recursive reference resolves to it
		loaded, err := l.load(target, ref)
		if err != nil {
			return nil, err
		}
		*r = *loaded
		return r, nil
	}
	r := &rule{minItems: -1, minLen: -1, maxLen: -1}
	for k, v := range s {
		if !schemaKeywords[k] {
			return nil, fmt.Errorf("%s: keyword %q is not one Parse checks", where, k)
		}
		var err error
		switch k {
		case "type":
			var ok bool
			if r.typ, ok = v.(string); !ok {
				err = fmt.Errorf("type must be one name")
			}
		case "properties":
			r.props = map[string]*rule{}
			for name, sub := range asObject(v) {
				if r.props[name], err = l.sub(sub, where+"/properties/"+name); err != nil {
					return nil, err
				}
			}
		case "additionalProperties":
			if b, ok := v.(bool); ok {
				r.closed = !b
			} else {
				r.extra, err = l.sub(v, where+"/additionalProperties")
			}
		case "required":
			for _, x := range asArray(v) {
				name, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("%s: required names must be strings", where)
				}
				r.required = append(r.required, name)
			}
		case "propertyNames":
			r.names, err = l.sub(v, where+"/propertyNames")
		case "items":
			r.items, err = l.sub(v, where+"/items")
		case "minItems":
			r.minItems, err = asInt(v)
		case "minLength":
			r.minLen, err = asInt(v)
		case "maxLength":
			r.maxLen, err = asInt(v)
		case "pattern":
			p, _ := v.(string)
			r.pattern, err = regexp.Compile(p)
		case "enum":
			for _, x := range asArray(v) {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("%s: enum values must be strings", where)
				}
				r.enum = append(r.enum, s)
			}
		case "minimum", "maximum":
			n, ok := v.(json.Number)
			if !ok {
				return nil, fmt.Errorf("%s: %s must be a number", where, k)
			}
			f, ferr := n.Float64()
			if k == "minimum" {
				r.min = &f
			} else {
				r.max = &f
			}
			err = ferr
		case "oneOf":
			for i, x := range asArray(v) {
				sub, err := l.sub(x, fmt.Sprintf("%s/oneOf/%d", where, i))
				if err != nil {
					return nil, err
				}
				r.oneOf = append(r.oneOf, sub)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", where, k, err)
		}
	}
	return r, nil
}

func (l *ruleLoader) sub(v any, where string) (*rule, error) {
	s, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a schema object", where)
	}
	return l.load(s, where)
}

func asObject(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asArray(v any) []any           { a, _ := v.([]any); return a }

func asInt(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	i, err := strconv.Atoi(string(n))
	return i, err
}

// checkShape reports every place where the tree breaks the schema's rules.
func checkShape(root *node) []diag {
	var ds []diag
	rootRule().check(root, "", &ds)
	return ds
}

// typeName is the JSON Schema type of a node: numbers are "integer" when
// their value is whole (as gojsonschema decides), else "number".
func typeName(n *node) string {
	if n.kind == kNumber {
		if integral(n.str) {
			return "integer"
		}
		return "number"
	}
	return n.kind.String()
}

func (r *rule) hasType(n *node) bool {
	switch r.typ {
	case "":
		return true
	case "number":
		return n.kind == kNumber
	}
	return r.typ == typeName(n)
}

// check validates n (at ptr) and appends what is wrong. A value of the
// wrong type gets that one error: the rest would only repeat it.
func (r *rule) check(n *node, ptr string, ds *[]diag) {
	fail := func(p pos, at string, format string, args ...any) {
		*ds = append(*ds, diag{pos: p, ptr: at, msg: fmt.Sprintf(format, args...)})
	}
	if len(r.oneOf) > 0 {
		r.checkOneOf(n, ptr, ds)
	}
	if !r.hasType(n) {
		fail(n.pos, ptr, "%s must be %s, not %s", describeAt(ptr), withArticle(r.typ), withArticle(typeName(n)))
		return
	}
	if r.enum != nil {
		ok := false
		for _, e := range r.enum {
			ok = ok || (n.kind == kString && n.str == e)
		}
		if !ok {
			quoted := make([]string, len(r.enum))
			for i, e := range r.enum {
				quoted[i] = strconv.Quote(e)
			}
			msg := fmt.Sprintf("%s must be one of %s, not %s", describeAt(ptr), strings.Join(quoted, ", "), valueText(n))
			if n.kind == kString {
				if s := suggest(n.str, r.enum); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
			}
			fail(n.pos, ptr, "%s", msg)
			return
		}
	}
	switch n.kind {
	case kObject:
		r.checkObject(n, ptr, ds)
	case kArray:
		if r.minItems >= 0 && len(n.elems) < r.minItems {
			fail(n.pos, ptr, "%s must have at least %d %s (remove it to leave it out)", describeAt(ptr), r.minItems, plural(r.minItems, "entry", "entries"))
		}
		if r.items != nil {
			for i, e := range n.elems {
				r.items.check(e, ptr+"/"+strconv.Itoa(i), ds)
			}
		}
	case kString:
		chars := utf8.RuneCountInString(n.str)
		switch {
		case r.minLen == 1 && chars == 0:
			fail(n.pos, ptr, "%s must not be empty", describeAt(ptr))
		case r.minLen >= 0 && chars < r.minLen:
			fail(n.pos, ptr, "%s is too short (at least %d characters)", describeAt(ptr), r.minLen)
		case r.maxLen >= 0 && chars > r.maxLen:
			fail(n.pos, ptr, "%s is too long (at most %d characters)", describeAt(ptr), r.maxLen)
		case r.pattern != nil && !r.pattern.MatchString(n.str):
			if lastSegment(ptr) == "mountpoint" && r.pattern.String() == "^/" {
				fail(n.pos, ptr, "mountpoint %q must be an absolute path", n.str)
			} else {
				fail(n.pos, ptr, "%s: %q does not match the pattern %s", describeAt(ptr), n.str, r.pattern)
			}
		}
	case kNumber:
		if r.min != nil || r.max != nil {
			// Exact for whole numbers (the "integer" type has been checked):
			// ParseFloat saturates a huge one to ±Inf.
			v, _ := strconv.ParseFloat(n.str, 64)
			if (r.min != nil && v < *r.min) || (r.max != nil && v > *r.max) {
				switch {
				case r.min != nil && r.max != nil:
					fail(n.pos, ptr, "%s must be between %v and %v, not %s", describeAt(ptr), *r.min, *r.max, n.str)
				case r.min != nil:
					fail(n.pos, ptr, "%s must be at least %v, not %s", describeAt(ptr), *r.min, n.str)
				default:
					fail(n.pos, ptr, "%s must be at most %v, not %s", describeAt(ptr), *r.max, n.str)
				}
			}
		}
	}
}

func (r *rule) checkObject(n *node, ptr string, ds *[]diag) {
	for _, m := range n.mem {
		kptr := ptr + "/" + pointerEscape(m.key)
		if r.names != nil {
			var kds []diag
			r.names.check(&node{kind: kString, pos: m.keyPos, str: m.key}, kptr, &kds)
			if len(kds) > 0 {
				msg := fmt.Sprintf("invalid key %q: %s", m.key, kds[0].msg)
				if ptr == "/env" {
					msg = fmt.Sprintf("invalid environment variable name %q (a name cannot contain '=')", m.key)
				}
				*ds = append(*ds, diag{pos: m.keyPos, ptr: kptr, msg: msg})
			}
		}
		if sub := r.props[m.key]; sub != nil {
			sub.check(m.val, kptr, ds)
			continue
		}
		if r.closed {
			*ds = append(*ds, diag{pos: m.keyPos, ptr: kptr, msg: unknownKey(m.key, ptr)})
		} else if r.extra != nil {
			r.extra.check(m.val, kptr, ds)
		}
	}
	for _, name := range r.required {
		found := false
		for _, m := range n.mem {
			found = found || m.key == name
		}
		if !found {
			_, what := keysAt(ptr)
			*ds = append(*ds, diag{pos: n.pos, ptr: ptr, msg: fmt.Sprintf("missing key %q in %s", name, what)})
		}
	}
}

// checkOneOf requires exactly one alternative to hold. When none does, the
// errors of the alternative whose type the value has explain it best; when
// none has the value's type, the message names the alternatives.
func (r *rule) checkOneOf(n *node, ptr string, ds *[]diag) {
	valid := 0
	var best []diag
	haveBest := false
	for _, alt := range r.oneOf {
		var ads []diag
		alt.check(n, ptr, &ads)
		if len(ads) == 0 {
			valid++
		} else if !haveBest && alt.hasType(n) {
			best, haveBest = ads, true
		}
	}
	switch {
	case valid == 1:
	case valid > 1:
		*ds = append(*ds, diag{pos: n.pos, ptr: ptr, msg: fmt.Sprintf("%s matches more than one of the forms the schema allows", describeAt(ptr))})
	case haveBest:
		*ds = append(*ds, best...)
	default:
		*ds = append(*ds, diag{pos: n.pos, ptr: ptr, msg: fmt.Sprintf("%s must be %s, not %s", describeAt(ptr), r.alternatives(), withArticle(typeName(n)))})
	}
}

// alternatives names the forms of a oneOf: "an array of objects (or one
// object)" for the usual "one thing or a list of them".
func (r *rule) alternatives() string {
	if len(r.oneOf) == 2 && r.oneOf[1].typ == "array" && r.oneOf[1].items == r.oneOf[0] {
		return fmt.Sprintf("an array of %ss (or one %s)", r.oneOf[0].typ, r.oneOf[0].typ)
	}
	var names []string
	for _, alt := range r.oneOf {
		names = append(names, withArticle(alt.typ))
	}
	return "one of " + strings.Join(names, ", ")
}

func withArticle(t string) string {
	switch {
	case t == "":
		return "any value"
	case strings.ContainsRune("aeiou", rune(t[0])):
		return "an " + t
	}
	return "a " + t
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// valueText shows a value in a message: strings quoted, numbers and
// literals as written, containers by their type.
func valueText(n *node) string {
	switch n.kind {
	case kString:
		return strconv.Quote(n.str)
	case kNumber:
		return n.str
	case kBool:
		return strconv.FormatBool(n.b)
	case kNull:
		return "null"
	}
	return withArticle(n.kind.String())
}

// integral reports whether a JSON number literal (already syntax-checked)
// has a whole value, exactly as a decimal (1.0, 2.5e1 and 100e-2 are
// whole; 1.5 and 1e-1 are not).
func integral(lit string) bool {
	mant, exp, _ := strings.Cut(strings.ToLower(lit), "e")
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return true // zero
	}
	trimmed := strings.TrimRight(digits, "0")
	// value = trimmed * 10^(e - len(frac) + trailing zeros)
	shift := int64(len(digits)-len(trimmed)) - int64(len(frac))
	e := int64(0)
	if exp != "" {
		neg := exp[0] == '-'
		exp = strings.TrimLeft(exp, "+-")
		for _, c := range exp {
			if e < 1<<40 { // saturate: any larger exponent decides alike
				e = e*10 + int64(c-'0')
			}
		}
		if neg {
			e = -e
		}
	}
	return e+shift >= 0
}
