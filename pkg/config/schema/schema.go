// Package schema validates json.cfg documents against the JSON Schema
// (draft-07) that rumptools ships (config.SchemaJSON) with gojsonschema, a
// general JSON Schema validator, and maps each violation back to its place
// in the source.
//
// config.Parse checks the rules of the same schema itself, so that the
// tools that only read configs (the launchers above all) do not carry
// gojsonschema and the HTTP and TLS packages it brings along. This package
// is what rump-cfgcheck, the checker of record, adds on top: the document
// is also run through gojsonschema, and anything it rejects is an error even
// if config.Parse let it pass. The tests of package config prove over the
// whole corpus and by fuzzing that config.Parse rejects every document
// gojsonschema rejects.
package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/xeipuuv/gojsonschema"
)

// Schema is a compiled JSON Schema for json.cfg documents.
type Schema struct {
	s *gojsonschema.Schema
}

// Compile compiles a JSON Schema given as JSON text.
func Compile(schemaJSON []byte) (*Schema, error) {
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(schemaJSON))
	if err != nil {
		return nil, err
	}
	return &Schema{s}, nil
}

var defaultSchema = sync.OnceValue(func() *Schema {
	s, err := Compile(config.SchemaJSON)
	if err != nil {
		// The schema is embedded and covered by tests: failing here is a build defect.
		panic("config/schema: embedded schema does not compile: " + err.Error())
	}
	return s
})

// Default returns the embedded schema (config.SchemaJSON), compiled once.
func Default() *Schema { return defaultSchema() }

// Validate validates d against the embedded schema; see Schema.Validate.
func Validate(d *config.Document) []config.Diagnostic { return Default().Validate(d) }

// Check parses and checks data against the embedded schema; see Schema.Check.
func Check(filename string, data []byte) (*config.Config, []config.Diagnostic, error) {
	return Default().Check(filename, data)
}

// Validate returns one error Diagnostic per violation of the schema, at the
// position of the value (or, for a key that is not allowed, of the key) in
// the source, in source order. The messages are gojsonschema's, prefixed
// with "JSON Schema:".
func (s *Schema) Validate(d *config.Document) []config.Diagnostic {
	res, err := s.validate(d.Value())
	if err != nil {
		return []config.Diagnostic{d.Error("", false, "JSON Schema validation failed: "+err.Error())}
	}
	if res.Valid() {
		return nil
	}
	errs := res.Errors()
	// A key that breaks "propertyNames" gives an invalid_property_name
	// error and the errors of the name's own check, both in the context of
	// the object; the latter carry the key as their value.
	badNames := map[[2]string]bool{}
	for _, e := range errs {
		if prop, ok := e.Details()["property"].(string); ok && e.Type() == "invalid_property_name" {
			badNames[[2]string{contextPointer(e.Context()), prop}] = true
		}
	}
	var ds []config.Diagnostic
	seen := map[string]bool{}
	for _, e := range errs {
		ptr := contextPointer(e.Context())
		key := false
		if name, ok := e.Value().(string); ok && e.Type() != "invalid_property_name" && badNames[[2]string{ptr, name}] {
			ptr, key = ptr+"/"+pointerEscape(name), true
		}
		switch e.Type() {
		case "number_one_of":
			// gojsonschema adds the errors of the alternative that came
			// closest; they say more than "must match exactly one".
			if errorBelow(errs, ptr) {
				continue
			}
		case "additional_property_not_allowed", "invalid_property_name":
			if prop, ok := e.Details()["property"].(string); ok {
				ptr, key = ptr+"/"+pointerEscape(prop), true
			}
		}
		// The pointer is the Diagnostic's: it prints before the message.
		diag := d.Error(ptr, key, "JSON Schema: "+e.Description())
		if k := diag.String(); !seen[k] {
			seen[k] = true
			ds = append(ds, diag)
		}
	}
	sortByPosition(ds)
	return ds
}

// validate runs gojsonschema, which panics on some documents (an "enum"
// given a number beyond float64, such as 1e400): that is an error here.
func (s *Schema) validate(v any) (res *gojsonschema.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("gojsonschema failed: %v", p)
		}
	}()
	return s.s.Validate(gojsonschema.NewRawLoader(v))
}

// Check is config.Parse with the schema as a second opinion: data is parsed
// and checked by config.Parse, and the same document is validated against
// s. A violation about a value that none of config.Parse's errors is about
// (the value itself, a part of it or a value enclosing it) is added to the
// errors, and the config is then not returned. With the embedded schema that never happens (the tests of
// package config prove it); Check is how rump-cfgcheck makes sure.
func (s *Schema) Check(filename string, data []byte) (*config.Config, []config.Diagnostic, error) {
	c, warns, err := config.Parse(filename, data)
	doc, _, derr := config.ReadDocument(filename, data)
	if derr != nil {
		return c, warns, err // not a document: Parse reported the same errors
	}
	var parsed config.ErrorList
	if err != nil && !errors.As(err, &parsed) {
		return c, warns, err
	}
	var extra config.ErrorList
	rel := relations(parsed)
	for _, d := range s.Validate(doc) {
		if !rel.related(d.Pointer) {
			extra = append(extra, d)
		}
	}
	if len(extra) == 0 {
		return c, warns, err
	}
	all := append(append(config.ErrorList{}, parsed...), extra...)
	sortByPosition(all)
	return nil, warns, all
}

// pointers indexes the pointers of errors: at holds each one, above every
// pointer that encloses one. A document with thousands of errors is then
// checked in linear time, not by comparing every error with every other.
type pointers struct{ at, above map[string]bool }

func relations(errs config.ErrorList) pointers {
	p := pointers{at: map[string]bool{}, above: map[string]bool{}}
	for _, e := range errs {
		p.at[e.Pointer] = true
		for q := e.Pointer; q != ""; {
			q = q[:strings.LastIndexByte(q, '/')]
			if p.above[q] {
				break // and so are its ancestors
			}
			p.above[q] = true
		}
	}
	return p
}

// related reports whether one of the errors is about the value at ptr, a
// value inside it or one enclosing it.
func (p pointers) related(ptr string) bool {
	if p.above[ptr] {
		return true
	}
	for q := ptr; ; q = q[:strings.LastIndexByte(q, '/')] {
		if p.at[q] {
			return true
		}
		if q == "" || !strings.Contains(q, "/") {
			return false
		}
	}
}

func errorBelow(errs []gojsonschema.ResultError, ptr string) bool {
	for _, e := range errs {
		if e.Type() != "number_one_of" && strings.HasPrefix(contextPointer(e.Context())+"/", ptr+"/") {
			return true
		}
	}
	return false
}

// contextPointer turns gojsonschema's "(root).a.b" context into a JSON
// pointer. It asks for a NUL delimiter, which no key can contain (the
// parser refuses NUL), so keys holding dots survive.
func contextPointer(c *gojsonschema.JsonContext) string {
	parts := strings.Split(c.String("\x00"), "\x00")
	var b strings.Builder
	for _, p := range parts[1:] {
		b.WriteByte('/')
		b.WriteString(pointerEscape(p))
	}
	return b.String()
}

// pointerEscape escapes a key for a JSON pointer (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func sortByPosition(ds []config.Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Line != ds[j].Line {
			return ds[i].Line < ds[j].Line
		}
		return ds[i].Col < ds[j].Col
	})
}
