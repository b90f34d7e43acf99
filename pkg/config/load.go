package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/rumptools/rumptools/pkg/initrd"
)

// ErrNoConfig is returned by Load for an initrd without a json.cfg.
var ErrNoConfig = errors.New("initrd has no /json.cfg")

// Load reads a config from r, which holds either json.cfg text or an initrd
// (newc cpio, plain or gzip) whose /json.cfg is taken (the last one, as the
// kernel's unpacking would leave it). name labels the source; Load returns
// the config bytes and the label to give Parse ("app.initrd:/json.cfg" for
// an initrd). It reads at most MaxSize+1 bytes of config text, so a huge
// input costs bounded memory and Parse reports it as too large; an initrd is
// streamed.
func Load(name string, r io.Reader) ([]byte, string, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(6)
	if !isArchive(magic) {
		data, err := io.ReadAll(io.LimitReader(br, MaxSize+1))
		return data, name, err
	}
	return LoadInitrd(name, br)
}

// LoadInitrd is Load for r that must be an initrd: other input, config
// text included, is an error wrapping initrd.ErrNotArchive. The whole
// archive is read, so that damage or a name no reader may take
// (initrd.NameRule) anywhere in it is an error.
func LoadInitrd(name string, r io.Reader) ([]byte, string, error) {
	data, err := initrd.ReadFile(r, "/json.cfg", MaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, name, fmt.Errorf("%s: %w", name, ErrNoConfig)
	}
	if err != nil {
		return nil, name, fmt.Errorf("%s: %w", name, err)
	}
	return data, name + ":/json.cfg", nil
}

// isArchive recognises newc cpio and the compressors an initrd may use
// (initrd.NewReader names the ones it cannot read). JSON text starts with
// none of these magic numbers.
func isArchive(m []byte) bool {
	for _, magic := range [][]byte{
		[]byte("0707"), {0x1f, 0x8b}, {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd},
		[]byte("BZh"), {0x02, 0x21, 0x4c, 0x18}, {0x04, 0x22, 0x4d, 0x18}, {0x89, 'L', 'Z', 'O'}, {0x5d, 0, 0},
	} {
		if bytes.HasPrefix(m, magic) {
			return true
		}
	}
	return false
}
