package ebsupload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/rumptools/rumptools/pkg/awsfake"
	"github.com/rumptools/rumptools/pkg/ebsupload"
)

const bs = ebsupload.BlockSize

func client(t *testing.T, srv *awsfake.Server) *ebs.Client {
	t.Helper()
	srv.Env(t)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ebs.NewFromConfig(cfg)
}

// image returns size bytes, zero except for pseudo-random data in the given
// blocks (a partial last block gets data up to its end).
func image(size int64, seed uint64, blocks ...int64) []byte {
	img := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 1))
	for _, b := range blocks {
		end := min((b+1)*bs, size)
		for i := b * bs; i < end; i++ {
			img[i] = byte(r.Uint32())
		}
	}
	return img
}

var fast = ebsupload.Retry{BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

// check asserts what every successful upload must satisfy on the server.
func check(t *testing.T, srv *awsfake.Server, res *ebsupload.Result, img []byte) *awsfake.Snapshot {
	t.Helper()
	for _, v := range srv.Violations() {
		t.Errorf("server saw a protocol violation: %s", v)
	}
	sn := srv.Snapshot(res.SnapshotID)
	if sn == nil {
		t.Fatalf("no snapshot %s on the server", res.SnapshotID)
	}
	if sn.ZeroPuts != 0 {
		t.Errorf("%d blocks of zeros sent", sn.ZeroPuts)
	}
	if sn.Status != "completed" {
		t.Errorf("snapshot status %q", sn.Status)
	}
	if got := sn.Content(int64(len(img))); !bytes.Equal(got, img) {
		t.Errorf("snapshot reassembled from the received blocks differs from the image")
	}
	// Independent computation of what must have been sent.
	var want []int64
	agg := sha256.New()
	padded := append(append([]byte(nil), img...), make([]byte, (bs-len(img)%bs)%bs)...)
	for i := int64(0); i*bs < int64(len(padded)); i++ {
		blk := padded[i*bs : (i+1)*bs]
		if !bytes.Equal(blk, make([]byte, bs)) {
			want = append(want, i)
			d := sha256.Sum256(blk)
			agg.Write(d[:])
		}
	}
	if len(sn.Sums) != len(want) || res.Sent != int64(len(want)) || sn.Changed != len(want) {
		t.Errorf("blocks on server %d, Result.Sent %d, ChangedBlocksCount %d; want %d", len(sn.Sums), res.Sent, sn.Changed, len(want))
	}
	for _, i := range want {
		if _, ok := sn.Sums[int32(i)]; !ok {
			t.Errorf("block %d holds data but was not received", i)
		}
	}
	if w := base64.StdEncoding.EncodeToString(agg.Sum(nil)); res.Checksum != w || sn.Checksum != w {
		t.Errorf("aggregate checksum: result %q, server got %q, want %q", res.Checksum, sn.Checksum, w)
	}
	for _, c := range srv.CallsTo("PutSnapshotBlock") {
		if c.Body != bs {
			t.Errorf("PutSnapshotBlock %s sent %d bytes", c.Params.Get("BlockIndex"), c.Body)
		}
	}
	return sn
}

func TestUploadSkipsZeroBlocks(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	size := int64(10*bs + 1000) // 11 blocks, the last one partial
	img := image(size, 1, 0, 3, 10)
	var last ebsupload.Progress
	calls := 0
	res, err := ebsupload.Upload(context.Background(), c, bytes.NewReader(img), size, ebsupload.Options{
		Description: "probe volume", Tags: map[string]string{"b": "2", "a": "1"}, Retry: fast,
		Progress: func(p ebsupload.Progress) { calls++; last = p },
	})
	if err != nil {
		t.Fatal(err)
	}
	sn := check(t, srv, res, img)
	if res.Blocks != 11 || res.VolumeSize != 1 || sn.VolumeSize != 1 {
		t.Errorf("Blocks %d VolumeSize %d (server %d), want 11 and 1", res.Blocks, res.VolumeSize, sn.VolumeSize)
	}
	if sn.Description != "probe volume" || sn.Tags["a"] != "1" || sn.Tags["b"] != "2" {
		t.Errorf("description %q tags %v", sn.Description, sn.Tags)
	}
	var idx []string
	for _, c := range srv.CallsTo("PutSnapshotBlock") {
		idx = append(idx, c.Params.Get("BlockIndex"))
	}
	if len(idx) != 3 {
		t.Errorf("PutSnapshotBlock for blocks %v, want exactly 0, 3 and 10", idx)
	}
	if calls != 11 || last != (ebsupload.Progress{Done: 11, Sent: 3, Total: 11}) {
		t.Errorf("progress: %d calls, last %+v", calls, last)
	}
	if n := len(srv.CallsTo("StartSnapshot")) + len(srv.CallsTo("CompleteSnapshot")); n != 2 {
		t.Errorf("%d Start/CompleteSnapshot calls, want 2", n)
	}
}

func TestUploadManyBlocksConcurrently(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	var blocks []int64
	for i := int64(0); i < 96; i += 1 + i%3 {
		blocks = append(blocks, i)
	}
	size := int64(96 * bs)
	img := image(size, 2, blocks...)
	res, err := ebsupload.Upload(context.Background(), c, bytes.NewReader(img), size, ebsupload.Options{Workers: 7, Retry: fast})
	if err != nil {
		t.Fatal(err)
	}
	check(t, srv, res, img)
}

func TestUploadAllZeroImage(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	img := make([]byte, 3*bs)
	res, err := ebsupload.Upload(context.Background(), c, bytes.NewReader(img), int64(len(img)), ebsupload.Options{Retry: fast})
	if err != nil {
		t.Fatal(err)
	}
	check(t, srv, res, img)
	if n := len(srv.CallsTo("PutSnapshotBlock")); n != 0 {
		t.Errorf("%d blocks sent for an all-zero image", n)
	}
}

// TestUploadRetries injects 5xx and throttling replies into every kind of
// call and checks that each was retried and the snapshot still comes out
// right.
func TestUploadRetries(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	type key struct {
		op, block string
	}
	inject := map[key][]awsfake.Fault{
		{"StartSnapshot", ""}:       {{Status: 500, Code: "InternalServerException", Message: "injected"}},
		{"PutSnapshotBlock", "0"}:   {{Status: 503, Code: "ServiceUnavailable", Message: "injected 503"}},
		{"PutSnapshotBlock", "2"}:   {{Status: 400, Code: "RequestThrottledException", Message: "injected"}, {Status: 400, Code: "ThrottlingException", Message: "injected"}},
		{"PutSnapshotBlock", "5"}:   {{Status: 400, Code: "ConcurrentLimitExceededException", Message: "injected"}},
		{"PutSnapshotBlock", "7"}:   {{Status: 502, Code: "", Message: "bad gateway"}},
		{"CompleteSnapshot", ""}:    {{Status: 503, Code: "ServiceUnavailable", Message: "injected 503"}},
		{"PutSnapshotBlock", "99"}:  nil, // never asked for: shows the map is keyed as sent
		{"StartSnapshot", "unused"}: nil,
	}
	var mu sync.Mutex
	seen := map[key]int{}
	srv.Fault = func(call awsfake.Call) *awsfake.Fault {
		mu.Lock()
		defer mu.Unlock()
		k := key{call.Op, call.Params.Get("BlockIndex")}
		n := seen[k]
		seen[k]++
		if n < len(inject[k]) {
			f := inject[k][n]
			return &f
		}
		return nil
	}
	size := int64(8 * bs)
	img := image(size, 3, 0, 1, 2, 5, 7)
	var retries int64
	res, err := ebsupload.Upload(context.Background(), c, bytes.NewReader(img), size, ebsupload.Options{
		Retry: fast, Workers: 3, Progress: func(p ebsupload.Progress) { retries = p.Retries },
	})
	if err != nil {
		t.Fatal(err)
	}
	check(t, srv, res, img)
	for k, faults := range inject {
		if len(faults) == 0 {
			continue
		}
		if seen[k] != len(faults)+1 {
			t.Errorf("%s %s: %d attempts, want %d", k.op, k.block, seen[k], len(faults)+1)
		}
	}
	// The SDK numbers its attempts; the final, successful one of block 2
	// must be attempt 3.
	for _, call := range srv.CallsTo("PutSnapshotBlock") {
		if call.Params.Get("BlockIndex") == "2" && call.Attempt == 3 {
			goto found
		}
	}
	t.Errorf("no third attempt of block 2 among %v", srv.CallsTo("PutSnapshotBlock"))
found:
	if retries < 5 { // retries of the blocks (progress is reported per block)
		t.Errorf("progress reported %d retries, want at least 5", retries)
	}
}

func TestUploadGivesUp(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	srv.Fault = func(call awsfake.Call) *awsfake.Fault {
		if call.Op == "PutSnapshotBlock" && call.Params.Get("BlockIndex") == "3" {
			return &awsfake.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "down"}
		}
		return nil
	}
	size := int64(6 * bs)
	img := image(size, 4, 1, 3, 4)
	_, err := ebsupload.Upload(context.Background(), c, bytes.NewReader(img), size, ebsupload.Options{
		Retry: ebsupload.Retry{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
	})
	var ue *ebsupload.Error
	if !errors.As(err, &ue) || ue.Op != "PutSnapshotBlock" || ue.Block != 3 || ue.SnapshotID == "" {
		t.Fatalf("error %v, want an *ebsupload.Error about PutSnapshotBlock of block 3", err)
	}
	n := 0
	for _, call := range srv.CallsTo("PutSnapshotBlock") {
		if call.Params.Get("BlockIndex") == "3" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("block 3 attempted %d times, want 4", n)
	}
	if len(srv.CallsTo("CompleteSnapshot")) != 0 {
		t.Error("CompleteSnapshot called after a failed block")
	}
}

func TestUploadDoesNotRetryClientErrors(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	srv.Fault = func(call awsfake.Call) *awsfake.Fault {
		if call.Op == "PutSnapshotBlock" {
			return &awsfake.Fault{Status: 400, Code: "ValidationException", Message: "no"}
		}
		return nil
	}
	img := image(bs, 5, 0)
	_, err := ebsupload.Upload(context.Background(), c, bytes.NewReader(img), bs, ebsupload.Options{Retry: fast})
	if err == nil {
		t.Fatal("upload succeeded")
	}
	if n := len(srv.CallsTo("PutSnapshotBlock")); n != 1 {
		t.Errorf("a ValidationException was tried %d times, want once", n)
	}
}

func TestUploadShortImage(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	img := image(2*bs, 6, 0, 1)
	_, err := ebsupload.Upload(context.Background(), c, bytes.NewReader(img[:bs+10]), 2*bs, ebsupload.Options{Retry: fast})
	var ue *ebsupload.Error
	if !errors.As(err, &ue) || ue.Op != "read" || ue.Block != 1 {
		t.Fatalf("error %v, want a read error at block 1", err)
	}
	if len(srv.CallsTo("CompleteSnapshot")) != 0 {
		t.Error("CompleteSnapshot called for a short image")
	}
}

func TestUploadVolumeSize(t *testing.T) {
	for _, c := range []struct{ size, gib int64 }{{0, 1}, {1, 1}, {1 << 30, 1}, {1<<30 + 1, 2}, {5<<30 - 1, 5}} {
		if got := ebsupload.VolumeSize(c.size); got != c.gib {
			t.Errorf("VolumeSize(%d) = %d, want %d", c.size, got, c.gib)
		}
	}
	srv := awsfake.New(t)
	cl := client(t, srv)
	_, err := ebsupload.Upload(context.Background(), cl, bytes.NewReader(nil), 1<<30+1, ebsupload.Options{VolumeSize: 1})
	if err == nil {
		t.Error("a 1 GiB volume accepted for an image over 1 GiB")
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests made for an impossible upload", n)
	}
	res, err := ebsupload.Upload(context.Background(), cl, bytes.NewReader(image(bs, 7, 0)), bs, ebsupload.Options{VolumeSize: 8, Retry: fast})
	if err != nil {
		t.Fatal(err)
	}
	if sn := srv.Snapshot(res.SnapshotID); sn.VolumeSize != 8 {
		t.Errorf("volume size %d, want 8", sn.VolumeSize)
	}
}

func TestErrorMessage(t *testing.T) {
	e := &ebsupload.Error{SnapshotID: "snap-1", Op: "PutSnapshotBlock", Block: 2, Err: errors.New("boom")}
	want := "snapshot snap-1: block 2 (offset " + strconv.Itoa(2*bs) + "): PutSnapshotBlock: boom"
	if e.Error() != want {
		t.Errorf("%q, want %q", e.Error(), want)
	}
}
