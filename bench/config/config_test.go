// Package configbench measures how fast rump-cfgcheck's validation is
// next to what users would otherwise run on a json.cfg: a generic JSON
// Schema validator given the shipped schema (gojsonschema, the library an
// editor or a CI step in Go would use; it reports paths, not positions, and
// accepts duplicate keys) and a plain JSON syntax check (encoding/json).
// Run with ./run, which prints the ratios of one run.
package configbench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/config/schema"
	"github.com/xeipuuv/gojsonschema"
)

// typical is a config of the usual size: a program, environment, one
// static interface and one disk.
var typical = []byte(`{
  "hostname": "web1",
  "cmdline": "nginx -c /data/conf/nginx.conf",
  "env": {"TZ": "UTC", "HOME": "/"},
  "net": [{"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.2.15/24", "gw": "10.0.2.2"}],
  "blk": [{"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "/data"}]
}
`)

func report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
}

func BenchmarkValidate(b *testing.B) {
	ours(b, typical)
	b.Run("rumptools-dialect", func(b *testing.B) {
		old, err := os.ReadFile(filepath.Join("..", "..", "pkg", "config", "testdata", "corpus", "script-qemu-static-blk.cfg"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, _, err := config.Parse("old.cfg", old); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	theirs(b, typical)
}

// large is the biggest config Parse takes (config.MaxSize, 1 MiB) made of
// 90,000 environment variables: a scan of the names read so far once made
// reading it quadratic (half a minute in rump-cfgcheck).
func large() []byte {
	var b []byte
	b = append(b, `{"cmdline":"app","env":{`...)
	for i := 0; i < 90000; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"E%s":""`, strconv.FormatInt(int64(i), 36))
	}
	b = append(b, "}}\n"...)
	if len(b) > config.MaxSize {
		panic(fmt.Sprintf("the large config is %d bytes, over config.MaxSize", len(b)))
	}
	return b
}

func BenchmarkLarge(b *testing.B) {
	data := large()
	ours(b, data)
	theirs(b, data)
}

// ours runs what rumptools runs on data.
func ours(b *testing.B, data []byte) {
	// What rump-cfgcheck runs: the parser's own checks, then gojsonschema
	// as a second opinion.
	b.Run("rumptools", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, _, err := schema.Check("typical.json", data)
			if err != nil || c == nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	// What the launchers and rump-initrd -c run: the parser alone, which
	// rejects everything the schema rejects (pkg/config's agreement tests).
	b.Run("rumptools-parse", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, _, err := config.Parse("typical.json", data)
			if err != nil || c == nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}

// theirs runs what users would otherwise run on data.
func theirs(b *testing.B, data []byte) {
	b.Run("gojsonschema", func(b *testing.B) {
		s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(config.SchemaJSON))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			res, err := s.Validate(gojsonschema.NewBytesLoader(data))
			if err != nil || !res.Valid() {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}
