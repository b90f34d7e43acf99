package config

import "testing"

// CorpusInput is one config of the test corpus, for the tests of package
// config_test (which can import config/schema: package config cannot).
type CorpusInput struct {
	Name string
	Data []byte
	Err  string // "line:col: text" of an error Parse reports; "" for a valid config
}

// Corpus returns every config of the corpus (corpus_test.go and
// testdata/corpus).
func Corpus(t testing.TB) []CorpusInput {
	var out []CorpusInput
	for _, tc := range corpus {
		out = append(out, CorpusInput{tc.name, tc.data(t), tc.err})
	}
	return out
}

// ShapeErrors returns the errors of Parse's own check against the schema's
// rules (checkShape) for a document, and false when data is no document.
func ShapeErrors(data []byte) ([]Diagnostic, bool) {
	root, ds, serr := read(data)
	if serr != nil || hasError(ds) {
		return nil, false
	}
	var out []Diagnostic
	for _, d := range checkShape(root) {
		out = append(out, d.diagnostic("in.json"))
	}
	return out, true
}
