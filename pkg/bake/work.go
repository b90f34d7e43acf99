package bake

import "github.com/rumptools/rumptools/pkg/atomicfile"

// argvIn returns the command's words with its temporary files as the work
// files of w (paths under /proc on Linux).
func (c Command) argvIn(w *atomicfile.Work) ([]string, error) {
	words := make([]string, len(c))
	for i, a := range c {
		words[i] = a.S
		if a.Tmp {
			p, err := w.Path(a.S)
			if err != nil {
				return nil, err
			}
			words[i] = p
		}
	}
	return words, nil
}
