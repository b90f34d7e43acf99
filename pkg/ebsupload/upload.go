// Package ebsupload writes a disk image into a new EBS snapshot with the EBS
// direct APIs: StartSnapshot, one PutSnapshotBlock per 512 KiB block that
// holds data, and CompleteSnapshot with the changed-block count and the
// aggregate checksum.
//
// A snapshot started from nothing reads as zeros wherever no block was
// written, so blocks that are all zero are never sent: a 1 GiB volume that
// holds 20 MiB of data costs about 40 requests, not 2048. The image is read
// once, in order, with a fixed number of 512 KiB buffers, so memory does not
// grow with the image. Throttling (ThrottlingException,
// RequestThrottledException, ConcurrentLimitExceededException) and server
// errors (HTTP 5xx) are retried with exponential backoff and jitter, as the
// EBS documentation asks.
package ebsupload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// BlockSize is the block size of the EBS direct APIs, the only one they accept.
const BlockSize = 512 * 1024

// MaxVolumeSize is the largest volume a snapshot can describe, in GiB.
const MaxVolumeSize = 65536

// Client is the part of *ebs.Client that Upload uses.
type Client interface {
	StartSnapshot(context.Context, *ebs.StartSnapshotInput, ...func(*ebs.Options)) (*ebs.StartSnapshotOutput, error)
	PutSnapshotBlock(context.Context, *ebs.PutSnapshotBlockInput, ...func(*ebs.Options)) (*ebs.PutSnapshotBlockOutput, error)
	CompleteSnapshot(context.Context, *ebs.CompleteSnapshotInput, ...func(*ebs.Options)) (*ebs.CompleteSnapshotOutput, error)
}

// Options tune an upload. The zero value is usable.
type Options struct {
	Description string
	Tags        map[string]string

	// VolumeSize of the snapshot in GiB; 0 means the image size rounded up
	// to whole GiB (at least 1).
	VolumeSize int64

	// Timeout in minutes after which EBS cancels a snapshot that is not
	// completed (the service default, 60, if 0). It bounds how long a failed
	// upload leaves a pending snapshot behind.
	Timeout int32

	// Workers is the number of PutSnapshotBlock requests in flight
	// (default 16).
	Workers int

	// Retry configures retries of throttled and failed requests.
	Retry Retry

	// Progress, if set, is called after each block has been read and
	// skipped or sent; calls never overlap.
	Progress func(Progress)
}

// Retry configures the retries of one upload.
type Retry struct {
	MaxAttempts int           // attempts per request, first included (default 10)
	BaseDelay   time.Duration // backoff before the first retry (default 250ms)
	MaxDelay    time.Duration // backoff limit (default 20s)
}

// Progress reports how far an upload has come, in blocks.
type Progress struct {
	Done    int64 // blocks read and either skipped or sent
	Sent    int64 // blocks sent
	Total   int64 // blocks in the image
	Retries int64 // requests retried so far
}

// Result describes a finished upload.
type Result struct {
	SnapshotID string
	VolumeSize int64  // GiB
	Blocks     int64  // 512 KiB blocks in the image, the last one padded with zeros
	Sent       int64  // blocks sent: the ChangedBlocksCount
	Checksum   string // the aggregate checksum given to CompleteSnapshot
	Status     string // snapshot status CompleteSnapshot returned ("pending" or "completed")
}

// Error is an upload failure after the snapshot was started: EBS cancels
// the pending snapshot once its timeout passes.
type Error struct {
	SnapshotID string
	Op         string // "read", "PutSnapshotBlock", "CompleteSnapshot"
	Block      int64  // block index, -1 when not about one block
	Err        error
}

func (e *Error) Error() string {
	if e.Block >= 0 {
		return fmt.Sprintf("snapshot %s: block %d (offset %d): %s: %v", e.SnapshotID, e.Block, e.Block*BlockSize, e.Op, e.Err)
	}
	return fmt.Sprintf("snapshot %s: %s: %v", e.SnapshotID, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// VolumeSize returns the smallest volume, in GiB, that holds size bytes.
func VolumeSize(size int64) int64 {
	return max(1, (size+(1<<30)-1)>>30)
}

// retryer is the SDK retryer an upload uses: the standard retryer with the
// given limits, EBS's ConcurrentLimitExceededException added to the
// throttling errors, and no client-side retry quota (an upload of thousands
// of blocks would drain the default one during a burst of throttling).
// onRetry is called before each retry.
func (r Retry) retryer(onRetry func()) aws.Retryer {
	r = r.withDefaults()
	codes := map[string]struct{}{"ConcurrentLimitExceededException": {}}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = r.MaxAttempts
		o.MaxBackoff = r.MaxDelay
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: codes})
		o.Throttles = append(o.Throttles, retry.ThrottleErrorCode{Codes: codes})
		o.Backoff = backoff(r, onRetry)
	})
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 10
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 250 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 20 * time.Second
	}
	return r
}

// backoff doubles the delay with every attempt up to the limit, and picks a
// random point in its upper half so that workers throttled together do not
// retry together.
func backoff(r Retry, onRetry func()) retry.BackoffDelayerFunc {
	return func(attempt int, _ error) (time.Duration, error) {
		onRetry()
		d := r.BaseDelay
		for i := 1; i < attempt && d < r.MaxDelay; i++ {
			d *= 2
		}
		d = min(d, r.MaxDelay)
		return d/2 + time.Duration(rand.Int64N(int64(d/2)+1)), nil
	}
}

// Upload reads size bytes from image and writes them into a new snapshot.
// The image is read once, in order. The last block is padded with zeros.
func Upload(ctx context.Context, c Client, image io.Reader, size int64, o Options) (*Result, error) {
	if size < 0 {
		return nil, fmt.Errorf("ebsupload: negative image size %d", size)
	}
	vol := o.VolumeSize
	if vol == 0 {
		vol = VolumeSize(size)
	}
	if vol < VolumeSize(size) {
		return nil, fmt.Errorf("ebsupload: a %d GiB volume cannot hold an image of %d bytes", vol, size)
	}
	if vol > MaxVolumeSize {
		return nil, fmt.Errorf("ebsupload: volume of %d GiB is over the EBS limit of %d GiB", vol, MaxVolumeSize)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = 16
	}
	u := &uploader{id: "", progress: o.Progress}
	retryer := o.Retry.retryer(u.retried)
	withRetry := func(eo *ebs.Options) { eo.Retryer = retryer }

	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(vol)}
	if o.Description != "" {
		in.Description = aws.String(o.Description)
	}
	if o.Timeout > 0 {
		in.Timeout = aws.Int32(o.Timeout)
	}
	keys := make([]string, 0, len(o.Tags))
	for k := range o.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(o.Tags[k])})
	}
	start, err := c.StartSnapshot(ctx, in, withRetry)
	if err != nil {
		return nil, fmt.Errorf("ebsupload: StartSnapshot: %w", err)
	}
	if start.SnapshotId == nil {
		return nil, errors.New("ebsupload: StartSnapshot returned no snapshot ID")
	}
	id := *start.SnapshotId
	if start.BlockSize != nil && *start.BlockSize != BlockSize {
		return nil, &Error{id, "StartSnapshot", -1, fmt.Errorf("block size %d, this uploader writes %d", *start.BlockSize, BlockSize)}
	}

	u.c, u.id, u.opt = c, id, withRetry
	u.total = (size + BlockSize - 1) / BlockSize
	u.free = make(chan []byte, workers+1)
	u.jobs = make(chan job)
	u.agg = sha256.New()
	for range workers + 1 {
		u.free <- make([]byte, BlockSize)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range u.jobs {
				if err := u.put(ctx, j); err != nil {
					cancel(err)
				}
				u.free <- j.buf
			}
		}()
	}
	readErr := u.read(ctx, image, size)
	close(u.jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		var ue *Error
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, &Error{id, "PutSnapshotBlock", -1, err}
	}
	if readErr != nil {
		return nil, readErr
	}

	checksum := base64.StdEncoding.EncodeToString(u.agg.Sum(nil))
	done, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{
		SnapshotId:                aws.String(id),
		ChangedBlocksCount:        aws.Int32(int32(u.sent)),
		Checksum:                  aws.String(checksum),
		ChecksumAlgorithm:         types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	}, withRetry)
	if err != nil {
		return nil, &Error{id, "CompleteSnapshot", -1, err}
	}
	if done.Status == types.StatusError {
		return nil, &Error{id, "CompleteSnapshot", -1, errors.New("snapshot status is error")}
	}
	return &Result{SnapshotID: id, VolumeSize: vol, Blocks: u.total, Sent: u.sent, Checksum: checksum, Status: string(done.Status)}, nil
}

type job struct {
	index int64
	buf   []byte
	sum   string
}

type uploader struct {
	c        Client
	id       string
	opt      func(*ebs.Options)
	total    int64
	free     chan []byte
	jobs     chan job
	agg      hash.Hash // digests of sent blocks, in index order: the reader sends in order
	progress func(Progress)

	mu      sync.Mutex
	sent    int64 // blocks handed to workers
	done    int64
	putOK   int64
	retries int64
}

var zeroBlock = make([]byte, BlockSize)

// read walks the image in block order. Hashing here, not in the workers,
// keeps the aggregate in index order without holding any digests.
func (u *uploader) read(ctx context.Context, r io.Reader, size int64) error {
	for i := int64(0); i < u.total; i++ {
		var buf []byte
		select {
		case buf = <-u.free:
		case <-ctx.Done():
			return nil
		}
		n := min(BlockSize, size-i*BlockSize)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = fmt.Errorf("image ends before its %d bytes", size)
			}
			u.free <- buf
			return &Error{u.id, "read", i, err}
		}
		clear(buf[n:])
		if bytes.Equal(buf, zeroBlock) {
			u.free <- buf
			u.step(false)
			continue
		}
		d := sha256.Sum256(buf)
		u.agg.Write(d[:])
		u.mu.Lock()
		u.sent++
		u.mu.Unlock()
		select {
		case u.jobs <- job{i, buf, base64.StdEncoding.EncodeToString(d[:])}:
		case <-ctx.Done():
			u.free <- buf
			return nil
		}
	}
	return nil
}

func (u *uploader) put(ctx context.Context, j job) error {
	out, err := u.c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
		SnapshotId:        aws.String(u.id),
		BlockIndex:        aws.Int32(int32(j.index)),
		BlockData:         bytes.NewReader(j.buf),
		DataLength:        aws.Int32(BlockSize),
		Checksum:          aws.String(j.sum),
		ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		Progress:          aws.Int32(int32(100 * (j.index + 1) / u.total)),
	}, u.opt)
	if err != nil {
		return &Error{u.id, "PutSnapshotBlock", j.index, err}
	}
	if out.Checksum != nil && *out.Checksum != j.sum {
		return &Error{u.id, "PutSnapshotBlock", j.index, fmt.Errorf("service computed checksum %s, sent %s", *out.Checksum, j.sum)}
	}
	u.step(true)
	return nil
}

func (u *uploader) retried() {
	u.mu.Lock()
	u.retries++
	u.mu.Unlock()
}

func (u *uploader) step(sent bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.done++
	if sent {
		u.putOK++
	}
	if u.progress != nil {
		u.progress(Progress{Done: u.done, Sent: u.putOK, Total: u.total, Retries: u.retries})
	}
}
