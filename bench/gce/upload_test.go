// Package gcebench measures what rump-launch-gce uploads to Cloud Storage
// against the disk's size: its archive (pkg/gceimage: disk.raw as a GNU
// sparse file, only the blocks that hold data stored and compressed),
// against the archives GNU tar makes of the same disk.raw, written out as
// a sparse file: with -S, Google's documented command
// (tar --format=oldgnu -Sczf), and without it. Every archive goes through
// the same resumable upload (pkg/gcsupload) to the same local stand-in
// (pkg/gcefake, 127.0.0.1), which counts the request bytes.
//
// The disk's first 13 MiB hold 12.25 MiB of data: 1 MiB of boot loader and
// file system structures (a quarter of its blocks written) and a 12 MiB
// kernel of random bytes, like the boot disk of a real rumprun kernel; the
// disk is 1 GiB or 10 GiB. Run with ./run, which
// prints one run's figures.
package gcebench

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/rumptools/rumptools/pkg/gcefake"
	"github.com/rumptools/rumptools/pkg/gceimage"
	"github.com/rumptools/rumptools/pkg/gcsupload"
)

const dataSize = 13 << 20

// contents is the disk's data: 1 MiB of structures (every fourth 4 KiB
// block written), then the kernel.
func contents() []byte {
	b := make([]byte, dataSize)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 1<<20; i += 4 * 4096 {
		for j := i; j < i+4096; j++ {
			b[j] = byte(r.Uint32())
		}
	}
	for i := 1 << 20; i < len(b); i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

type memSource []byte

func (m memSource) Size() (int64, error) { return int64(len(m)), nil }
func (m memSource) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m)
	return int64(n), err
}

type measure struct {
	bytes    int64 // request body bytes of the upload
	archive  int64
	duration time.Duration
	alloc    uint64 // bytes allocated, ours only
}

func upload(b *testing.B, srv *gcefake.Server, hc *http.Client, name string, r io.Reader, size int64, md5sum []byte, crc uint32) {
	_, err := gcsupload.Upload(context.Background(), r, gcsupload.Object{Bucket: "bench", Name: name, Size: size, MD5: md5sum, CRC32C: crc},
		gcsupload.Options{Client: hc, BaseURL: srv.StorageEndpoint()})
	if err != nil {
		b.Fatal(err)
	}
}

// ours makes the archive twice, as the tool does (once for its name and
// digests, once into the upload), and uploads it.
func ours(b *testing.B, srv *gcefake.Server, hc *http.Client, data []byte, size int64) measure {
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	_, b0 := srv.Stats()
	t0 := time.Now()
	d := &gceimage.Disk{Source: memSource(data), Size: size, Time: time.Unix(1700000000, 0)}
	h, c := md5.New(), crc32.New(crc32.MakeTable(crc32.Castagnoli))
	n, err := d.WriteTo(io.MultiWriter(h, c))
	if err != nil {
		b.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { _, err := d.WriteTo(pw); pw.CloseWithError(err) }()
	upload(b, srv, hc, fmt.Sprintf("ours-%d", size>>30), pr, n, h.Sum(nil), c.Sum32())
	m := measure{archive: n, duration: time.Since(t0)}
	runtime.ReadMemStats(&ms1)
	_, b1 := srv.Stats()
	m.bytes, m.alloc = b1-b0, ms1.TotalAlloc-ms0.TotalAlloc
	return m
}

// gnuTar writes disk.raw as a sparse file, archives it with GNU tar and
// uploads the archive.
func gnuTar(b *testing.B, srv *gcefake.Server, hc *http.Client, dir string, data []byte, size int64, sparse bool) measure {
	raw := filepath.Join(dir, "disk.raw")
	archive := filepath.Join(dir, "disk.tar.gz")
	_, b0 := srv.Stats()
	t0 := time.Now()
	f, err := os.Create(raw)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	args := []string{"--format=oldgnu", "-czf", archive, "disk.raw"}
	if sparse {
		args = []string{"--format=oldgnu", "-Sczf", archive, "disk.raw"}
	}
	cmd := exec.Command("tar", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GZIP=-6")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("tar: %v\n%s", err, out)
	}
	a, err := os.ReadFile(archive)
	if err != nil {
		b.Fatal(err)
	}
	sum := md5.Sum(a)
	upload(b, srv, hc, fmt.Sprintf("tar-%v-%d", sparse, size>>30), bytes.NewReader(a), int64(len(a)), sum[:], crc32.Checksum(a, crc32.MakeTable(crc32.Castagnoli)))
	m := measure{archive: int64(len(a)), duration: time.Since(t0)}
	_, b1 := srv.Stats()
	m.bytes = b1 - b0
	os.Remove(raw)
	os.Remove(archive)
	return m
}

func BenchmarkUpload(b *testing.B) {
	if out, err := exec.Command("tar", "--version").Output(); err != nil || !bytes.Contains(out, []byte("GNU tar")) {
		b.Skip("GNU tar not installed (Debian package tar)")
	}
	srv := gcefake.New(b)
	srv.DiscardData = true
	srv.Env(b)
	hc, _, err := htransport.NewClient(context.Background(), option.WithScopes(gcefake.Scope))
	if err != nil {
		b.Fatal(err)
	}
	data := contents()
	dir := b.TempDir()
	// Warm the connections, the token and the page cache for both.
	ours(b, srv, hc, data, 1<<30)
	gnuTar(b, srv, hc, dir, data, 1<<30, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, gib := range []int64{1, 10} {
			size := gib << 30
			o := ours(b, srv, hc, data, size)
			s := gnuTar(b, srv, hc, dir, data, size, true)
			p := gnuTar(b, srv, hc, dir, data, size, false)
			if i == b.N-1 {
				for _, r := range []struct {
					who string
					m   measure
				}{{"ours", o}, {"tar-S", s}, {"tar", p}} {
					b.ReportMetric(float64(r.m.bytes)/(1<<20), fmt.Sprintf("%s-%dGiB-MiB", r.who, gib))
					b.ReportMetric(float64(r.m.duration.Milliseconds()), fmt.Sprintf("%s-%dGiB-ms", r.who, gib))
				}
				b.ReportMetric(float64(o.alloc)/(1<<20), fmt.Sprintf("ours-%dGiB-allocMiB", gib))
			}
		}
	}
	b.StopTimer()
	for _, v := range srv.Violations() {
		b.Errorf("violation: %s", v)
	}
}
