// Package ec2bench measures rump-launch-ec2's snapshot upload
// (pkg/ebsupload, which skips blocks that are all zeros) against an
// uploader that sends every block, as tools that push a raw image block by
// block do: the same 1 GiB image holding 20 MiB of data, the same SDK, the
// same number of requests in flight, the same local stand-in for EBS
// (pkg/awsfake, which checks every signature and checksum). It reports
// requests, request body bytes and wall time of each, in alternating runs.
// Run with ./run, which prints one run's figures.
package ec2bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/rumptools/rumptools/pkg/awsfake"
	"github.com/rumptools/rumptools/pkg/ebsupload"
)

const (
	imageSize = 1 << 30
	dataSize  = 20 << 20
	workers   = 16
)

// makeImage writes a sparse 1 GiB file laid out like a small root volume:
// 20 MiB of file data from offset 1 MiB, and a 4 KiB superblock copy at
// the start of every 128 MiB block group.
func makeImage(b *testing.B) string {
	p := filepath.Join(b.TempDir(), "volume.img")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(imageSize); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, dataSize)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if _, err := f.WriteAt(data, 1<<20); err != nil {
		b.Fatal(err)
	}
	sb := bytes.Repeat([]byte{0xef, 0x53}, 2048)
	for off := int64(0); off < imageSize; off += 128 << 20 {
		if _, err := f.WriteAt(sb, off); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// sendAll is the comparison: every block, zeros included, with its
// checksum, workers in flight, then CompleteSnapshot.
func sendAll(ctx context.Context, c *ebs.Client, image string) error {
	f, err := os.Open(image)
	if err != nil {
		return err
	}
	defer f.Close()
	start, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(imageSize >> 30)})
	if err != nil {
		return err
	}
	type job struct {
		i   int32
		buf []byte
		sum string
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				_, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
					SnapshotId: start.SnapshotId, BlockIndex: aws.Int32(j.i), BlockData: bytes.NewReader(j.buf),
					DataLength: aws.Int32(ebsupload.BlockSize), Checksum: aws.String(j.sum),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	agg := sha256.New()
	n := int32(imageSize / ebsupload.BlockSize)
	for i := int32(0); i < n; i++ {
		buf := make([]byte, ebsupload.BlockSize)
		if _, err := io.ReadFull(f, buf); err != nil {
			close(jobs)
			wg.Wait()
			return err
		}
		d := sha256.Sum256(buf)
		agg.Write(d[:])
		jobs <- job{i, buf, base64.StdEncoding.EncodeToString(d[:])}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	_, err = c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{
		SnapshotId: start.SnapshotId, ChangedBlocksCount: aws.Int32(n),
		Checksum: aws.String(base64.StdEncoding.EncodeToString(agg.Sum(nil))), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	})
	return err
}

func skipZeros(ctx context.Context, c *ebs.Client, image string) error {
	f, err := os.Open(image)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = ebsupload.Upload(ctx, c, f, imageSize, ebsupload.Options{Workers: workers})
	return err
}

func BenchmarkUpload(b *testing.B) {
	image := makeImage(b)
	srv := awsfake.New(b)
	srv.DiscardData = true
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": awsfake.AccessKey, "AWS_SECRET_ACCESS_KEY": awsfake.SecretKey,
		"AWS_REGION": awsfake.Region, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
	} {
		b.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	c := ebs.NewFromConfig(cfg)
	ctx := context.Background()

	measure := func(upload func(context.Context, *ebs.Client, string) error) (int, int64, time.Duration) {
		r0, b0 := srv.Stats()
		t0 := time.Now()
		if err := upload(ctx, c, image); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		r1, b1 := srv.Stats()
		return r1 - r0, b1 - b0, d
	}
	measure(skipZeros) // warm the page cache and the connections for both
	measure(sendAll)

	b.ResetTimer()
	var skipReq, allReq int
	var skipBytes, allBytes int64
	var skipTime, allTime time.Duration
	for i := 0; i < b.N; i++ {
		var sr, ar int
		var sb, ab int64
		var st, at time.Duration
		if i%2 == 0 {
			sr, sb, st = measure(skipZeros)
			ar, ab, at = measure(sendAll)
		} else {
			ar, ab, at = measure(sendAll)
			sr, sb, st = measure(skipZeros)
		}
		skipReq, skipBytes, skipTime = sr, sb, skipTime+st
		allReq, allBytes, allTime = ar, ab, allTime+at
	}
	b.StopTimer()
	for _, v := range srv.Violations() {
		b.Errorf("violation: %s", v)
	}
	n := float64(b.N)
	b.ReportMetric(float64(skipReq), "skip-requests")
	b.ReportMetric(float64(allReq), "all-requests")
	b.ReportMetric(float64(skipBytes)/(1<<20), "skip-MiB")
	b.ReportMetric(float64(allBytes)/(1<<20), "all-MiB")
	b.ReportMetric(float64(skipTime.Milliseconds())/n, "skip-ms")
	b.ReportMetric(float64(allTime.Milliseconds())/n, "all-ms")
	b.ReportMetric(float64(skipTime)/float64(allTime), "time-ratio")
}
