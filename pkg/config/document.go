package config

// Document is a json.cfg after the syntax checks and the normalisation of
// the rumprun dialect, before any check of its keys, types and values: the
// JSON value in canonical shape that the JSON Schema (SchemaJSON)
// describes, with the source position of every part of it. Package
// config/schema validates Documents with a general JSON Schema validator.
type Document struct {
	file       string
	root       *node
	vpos, kpos map[string]pos
}

// ReadDocument reads data as Parse does, up to the checks against the
// schema. It fails (with an ErrorList, like Parse) only on what no schema
// can be asked about: syntax errors, duplicate keys, and dialect that
// cannot be normalised. Parse reports the same errors for the same data.
func ReadDocument(filename string, data []byte) (*Document, []Diagnostic, error) {
	root, ds, serr := read(data)
	if serr != nil {
		ds = append(ds, diag{pos: serr.pos, msg: serr.msg})
	}
	warns, err := split(filename, ds)
	if err != nil {
		return nil, warns, err
	}
	d := &Document{file: filename, root: root, vpos: map[string]pos{}, kpos: map[string]pos{}}
	positions(root, "", d.vpos, d.kpos)
	return d, warns, nil
}

// Value returns the document as encoding/json decodes JSON with
// UseNumber: map[string]any, []any, string, json.Number, bool and nil.
// Each call returns a fresh copy.
func (d *Document) Value() any { return value(d.root) }

// Error returns an error Diagnostic for the value at the JSON pointer ptr,
// or for its key when key is set (a member's key, not its value). A
// pointer the document does not hold is placed at its nearest ancestor.
func (d *Document) Error(ptr string, key bool, msg string) Diagnostic {
	c := Config{file: d.file, pos: d.vpos, kpos: d.kpos}
	return c.at(ptr, key, false, "%s", msg)
}
