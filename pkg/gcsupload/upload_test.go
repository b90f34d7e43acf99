package gcsupload_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/rumptools/rumptools/pkg/gcefake"
	"github.com/rumptools/rumptools/pkg/gcsupload"
)

// client returns an HTTP client with Application Default Credentials,
// which Env points at the fake.
func client(t *testing.T, srv *gcefake.Server) *http.Client {
	t.Helper()
	srv.Env(t)
	hc, _, err := htransport.NewClient(context.Background(), option.WithScopes(gcefake.Scope))
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func data(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func object(name string, b []byte) gcsupload.Object {
	sum := md5.Sum(b)
	return gcsupload.Object{Bucket: "bkt", Name: name, Size: int64(len(b)), MD5: sum[:],
		CRC32C: crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)), ContentType: "application/gzip"}
}

func options(srv *gcefake.Server, hc *http.Client, chunk int) gcsupload.Options {
	return gcsupload.Options{Client: hc, BaseURL: srv.StorageEndpoint(), ChunkSize: chunk,
		Retry: gcsupload.Retry{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: 4}}
}

func ranges(srv *gcefake.Server) []string {
	var out []string
	for _, c := range srv.Calls() {
		if c.Op == "upload.put" || c.Op == "upload.query" {
			out = append(out, c.Header.Get("Content-Range"))
		}
	}
	return out
}

func noViolations(t *testing.T, srv *gcefake.Server) {
	t.Helper()
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
}

func TestUpload(t *testing.T) {
	srv := gcefake.New(t)
	hc := client(t, srv)
	b := data(5*gcsupload.Quantum/2 + 17) // two whole chunks and a short one
	var seen []gcsupload.Progress
	o := options(srv, hc, gcsupload.Quantum)
	o.Progress = func(p gcsupload.Progress) { seen = append(seen, p) }
	res, err := gcsupload.Upload(context.Background(), bytes.NewReader(b), object("a.tar.gz", b), o)
	if err != nil {
		t.Fatal(err)
	}
	obj := srv.Object("bkt", "a.tar.gz")
	if obj == nil || !bytes.Equal(obj.Data, b) || obj.ContentType != "application/gzip" || res.Generation != obj.Generation {
		t.Fatalf("object %+v, result %+v", obj, res)
	}
	size := len(b)
	want := []string{
		fmt.Sprintf("bytes 0-262143/%d", size),
		fmt.Sprintf("bytes 262144-524287/%d", size),
		fmt.Sprintf("bytes 524288-%d/%d", size-1, size),
	}
	if got := ranges(srv); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Content-Range %q\nwant %q", got, want)
	}
	// The start request's body is the metadata, a few hundred bytes.
	if res.Requests != 4 || res.Sent < int64(size) || res.Sent > int64(size)+512 || res.Retries != 0 {
		t.Errorf("result %+v", res)
	}
	if len(seen) != 3 || seen[2].Done != int64(size) || seen[2].Total != int64(size) {
		t.Errorf("progress %+v", seen)
	}
	noViolations(t, srv)
}

// TestResume fails one chunk after the session kept part of it: the
// uploader asks what the session holds (Content-Range: bytes */SIZE) and
// goes on from there, and the object is the bytes, whole.
func TestResume(t *testing.T) {
	for _, c := range []struct {
		name string
		f    gcefake.ChunkFault
	}{
		{name: "503 after half a chunk", f: gcefake.ChunkFault{Keep: 2 * gcsupload.Quantum, Status: 503}},
		{name: "connection dropped", f: gcefake.ChunkFault{Keep: 3 * gcsupload.Quantum, Drop: true}},
		{name: "nothing kept", f: gcefake.ChunkFault{Status: 429}},
		{name: "accepted in part", f: gcefake.ChunkFault{Keep: gcsupload.Quantum}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := gcefake.New(t)
			hc := client(t, srv)
			chunk := 4 * gcsupload.Quantum
			b := data(3*chunk + 1000)
			size := len(b)
			srv.ChunkFault = func(n int, first int64, length int) *gcefake.ChunkFault {
				if n == 2 {
					f := c.f
					return &f
				}
				return nil
			}
			res, err := gcsupload.Upload(context.Background(), bytes.NewReader(b), object("r.tar.gz", b), options(srv, hc, chunk))
			if err != nil {
				t.Fatal(err)
			}
			if obj := srv.Object("bkt", "r.tar.gz"); obj == nil || !bytes.Equal(obj.Data, b) {
				t.Fatal("the object differs from the bytes uploaded")
			}
			kept := int64(chunk) + c.f.Keep
			want := []string{
				fmt.Sprintf("bytes 0-%d/%d", chunk-1, size),
				fmt.Sprintf("bytes %d-%d/%d", chunk, 2*chunk-1, size),
			}
			if c.f.Status != 0 || c.f.Drop {
				want = append(want, fmt.Sprintf("bytes */%d", size))
			}
			want = append(want, fmt.Sprintf("bytes %d-%d/%d", kept, 2*chunk-1, size))
			want = append(want, fmt.Sprintf("bytes %d-%d/%d", 2*chunk, 3*chunk-1, size))
			want = append(want, fmt.Sprintf("bytes %d-%d/%d", 3*chunk, size-1, size))
			if got := ranges(srv); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Content-Range\n got %q\nwant %q", got, want)
			}
			if wantRetries := map[bool]int{true: 1, false: 0}[c.f.Status != 0 || c.f.Drop]; res.Retries != wantRetries {
				t.Errorf("%d retries, want %d", res.Retries, wantRetries)
			}
			noViolations(t, srv)
		})
	}
}

func TestFailures(t *testing.T) {
	b := data(3 * gcsupload.Quantum)
	for _, c := range []struct {
		name   string
		setup  func(*gcefake.Server)
		obj    func(gcsupload.Object) gcsupload.Object
		src    io.Reader
		want   string
		cancel bool // the session is cancelled
	}{
		{name: "every chunk fails", setup: func(s *gcefake.Server) {
			s.ChunkFault = func(int, int64, int) *gcefake.ChunkFault { return &gcefake.ChunkFault{Status: 503} }
		}, want: "4 attempts", cancel: true},
		{name: "refused", setup: func(s *gcefake.Server) {
			s.ChunkFault = func(int, int64, int) *gcefake.ChunkFault { return &gcefake.ChunkFault{Status: 403} }
		}, want: "injected failure", cancel: true},
		{name: "wrong digest", obj: func(o gcsupload.Object) gcsupload.Object { o.MD5 = make([]byte, 16); return o },
			want: "MD5 hash doesn't match", cancel: true},
		{name: "short source", src: bytes.NewReader(b[:len(b)-1]), want: "unexpected EOF after 786431 of 786432 bytes", cancel: true},
		{name: "long source", src: bytes.NewReader(append(bytes.Clone(b), 1)), want: "more than the 786432 bytes announced", cancel: true},
		{name: "no start", setup: func(s *gcefake.Server) {
			s.Fault = func(c gcefake.Call) *gcefake.Fault {
				return &gcefake.Fault{Status: 403, Reason: "forbidden", Message: "no storage.objects.create on bkt"}
			}
		}, want: "starting the upload: googleapi: Error 403: no storage.objects.create on bkt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := gcefake.New(t)
			hc := client(t, srv)
			if c.setup != nil {
				c.setup(srv)
			}
			obj := object("f.tar.gz", b)
			if c.obj != nil {
				obj = c.obj(obj)
			}
			src := c.src
			if src == nil {
				src = bytes.NewReader(b)
			}
			_, err := gcsupload.Upload(context.Background(), src, obj, options(srv, hc, gcsupload.Quantum))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if srv.Object("bkt", "f.tar.gz") != nil {
				t.Error("an object was made")
			}
			cancelled := false
			for _, call := range srv.Calls() {
				cancelled = cancelled || call.Op == "upload.cancel"
			}
			if cancelled != c.cancel {
				t.Errorf("session cancelled: %v, want %v", cancelled, c.cancel)
			}
		})
	}
}

// TestCancel stops an upload through its context: the session is
// cancelled and the error says why.
func TestCancel(t *testing.T) {
	srv := gcefake.New(t)
	hc := client(t, srv)
	b := data(4 * gcsupload.Quantum)
	ctx, cancel := context.WithCancel(context.Background())
	srv.ChunkFault = func(n int, _ int64, _ int) *gcefake.ChunkFault {
		if n == 2 {
			cancel()
			return &gcefake.ChunkFault{Status: 503}
		}
		return nil
	}
	_, err := gcsupload.Upload(ctx, bytes.NewReader(b), object("c.tar.gz", b), options(srv, hc, gcsupload.Quantum))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if calls := srv.Calls(); calls[len(calls)-1].Op != "upload.cancel" {
		t.Errorf("last call %s, want upload.cancel", calls[len(calls)-1].Op)
	}
}

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&googleapi.Error{Code: 503}, true},
		{&googleapi.Error{Code: 429}, true},
		{&googleapi.Error{Code: 403}, false},
		{&url.Error{Op: "Put", URL: "u", Err: io.EOF}, true},
		{&url.Error{Op: "Put", URL: "u", Err: syscall.ECONNRESET}, true},
		{&url.Error{Op: "Put", URL: "u", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{&url.Error{Op: "Put", URL: "u", Err: context.DeadlineExceeded}, true},
		{&url.Error{Op: "Put", URL: "u", Err: errors.New("auth: cannot fetch token: 400")}, false},
		{context.Canceled, false},
	} {
		if got := gcsupload.Transient(c.err); got != c.want {
			t.Errorf("%v: %v, want %v", c.err, got, c.want)
		}
	}
}

// TestBadCredentials: credentials the token endpoint refuses end the
// upload at once; they are not retried.
func TestBadCredentials(t *testing.T) {
	srv := gcefake.New(t)
	srv.Env(t)
	other := gcefake.New(t)
	key, err := os.ReadFile(other.CredentialsFile(t))
	if err != nil {
		t.Fatal(err)
	}
	hc, _, err := htransport.NewClient(context.Background(), option.WithScopes(gcefake.Scope),
		option.WithAuthCredentialsJSON(option.ServiceAccount, bytes.ReplaceAll(key, []byte(other.URL), []byte(srv.URL))))
	if err != nil {
		t.Fatal(err)
	}
	b := data(100)
	_, err = gcsupload.Upload(context.Background(), bytes.NewReader(b), object("x", b), options(srv, hc, gcsupload.Quantum))
	if err == nil || !strings.Contains(err.Error(), "starting the upload") {
		t.Fatalf("got %v", err)
	}
	if calls := srv.Calls(); len(calls) != 1 || calls[0].Op != "token" {
		t.Errorf("calls %v, want one token request", calls)
	}
}
