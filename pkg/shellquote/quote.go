// Package shellquote writes words and commands that a POSIX shell reads back
// exactly: what launchers print for -n must survive a copy and paste.
//
// Words made only of characters that no shell treats specially are written
// as they are, so that common commands stay readable; every other word is
// wrapped in single quotes, inside which a POSIX shell takes every byte
// literally (newlines, tabs, UTF-8, backslashes, dollars); a single quote
// inside is written as close-quote, backslash-quote, reopen-quote.
package shellquote

import "strings"

// safe reports whether b needs no quoting anywhere in a word. '=' is safe
// except at the start of a word (zsh expands =cmd) and in a command's first
// word (an assignment there), which Join handles; '~' and '#' are not, as
// they are special at the start of a word.
func safe(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("_-+=,./:@%", b) >= 0
}

// Quote returns s as a single shell word.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	plain := s[0] != '='
	for i := 0; i < len(s); i++ {
		if !safe(s[i]) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join returns a shell command that runs words[0] with the other words as
// its arguments.
func Join(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 && strings.IndexByte(w, '=') >= 0 {
			// NAME=value in command position would be an assignment.
			b.WriteString("'" + strings.ReplaceAll(w, "'", `'\''`) + "'")
			continue
		}
		b.WriteString(Quote(w))
	}
	return b.String()
}

// Operand quotes a file name for use as a command's operand: a name that
// starts with "-" gets "./" in front, so that no program reads it as
// options.
func Operand(path string) string {
	if len(path) > 0 && path[0] == '-' {
		path = "./" + path
	}
	return Quote(path)
}
