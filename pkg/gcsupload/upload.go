// Package gcsupload writes one object to Cloud Storage with the JSON API's
// resumable upload, reading its bytes once, in order, from a stream.
//
// A session is started (POST .../upload/storage/v1/b/BUCKET/o?uploadType=resumable)
// with the object's metadata, its size and its MD5 and CRC32C digests, so
// that Cloud Storage refuses to create an object whose bytes differ from
// what was announced. The bytes then go in chunks of ChunkSize, each a PUT
// to the session with Content-Range "bytes FIRST-LAST/SIZE", each
// acknowledged (308 Resume Incomplete, with the Range the session holds)
// before the next is read. Memory is one chunk.
//
// When a chunk fails (a network error, or HTTP 408, 429 or 5xx), the
// session is asked how much it holds, with an empty PUT and
// Content-Range "bytes */SIZE", after an exponential backoff with jitter;
// the upload goes on from the first byte it lacks, which is still in the
// chunk buffer (Cloud Storage keeps whole multiples of 256 KiB, and may
// keep less of a chunk than was sent even when the PUT succeeds). A
// failure that persists, a refused request or a cancelled context ends the
// upload, and the session is cancelled (DELETE) so that Cloud Storage drops
// what it holds.
package gcsupload

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/api/googleapi"
)

// Quantum is the unit of chunk sizes: every chunk but the last is a
// multiple of it, as Cloud Storage requires.
const Quantum = 256 << 10

// DefaultChunkSize is the chunk size when Options.ChunkSize is 0.
const DefaultChunkSize = 32 * Quantum // 8 MiB

// DefaultBaseURL is the JSON API's base URL.
const DefaultBaseURL = "https://storage.googleapis.com/storage/v1/"

// Object is what is uploaded.
type Object struct {
	Bucket, Name string
	Size         int64
	MD5          []byte // the MD5 digest of the bytes (16 bytes)
	CRC32C       uint32 // their CRC32C (Castagnoli)
	ContentType  string // "" means application/octet-stream
}

// Options tune an upload.
type Options struct {
	// Client makes the requests, with credentials (the zero value: none).
	Client *http.Client
	// BaseURL is the JSON API's base, as the storage/v1 package's BasePath
	// ("" means DefaultBaseURL); uploads go to /upload/storage/v1/ on its
	// host.
	BaseURL string
	// ChunkSize is a multiple of Quantum (0 means DefaultChunkSize).
	ChunkSize int
	// RequestTimeout bounds one request (0 means 5 minutes).
	RequestTimeout time.Duration
	Retry          Retry
	// Progress, when set, is called after each chunk is acknowledged and
	// after each retry.
	Progress func(Progress)
}

// Retry configures how failures are retried.
type Retry struct {
	MaxAttempts int           // tries of one step, the first included (default 8)
	BaseDelay   time.Duration // backoff before the first retry (default 500ms)
	MaxDelay    time.Duration // backoff limit (default 30s)
}

// Progress reports an upload's state.
type Progress struct {
	Done, Total int64 // bytes the session holds, of all
	Retries     int
}

// Result describes a finished upload.
type Result struct {
	Generation int64 // the object's generation
	Requests   int   // requests made, retries and status queries included
	Sent       int64 // request body bytes sent, resent bytes included
	Retries    int
}

// Error is an upload that failed after its session started.
type Error struct {
	Session string // the session URI
	Offset  int64  // bytes the session held at the last look
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("upload at byte %d: %v", e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports a failure worth trying again: an answer that says so
// (HTTP 408, 429, 500, 502, 503, 504), or none, because the connection
// failed or was cut. Anything else (refusals, credentials that do not
// work, a cancelled context) is final.
func Transient(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, errProtocol):
		return false
	case errors.Is(err, context.DeadlineExceeded):
		return true // one request's timeout; callers stop when their context ends
	}
	// The transport wraps everything in a *url.Error, which calls itself
	// a net.Error: look inside.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// errProtocol marks answers that make no sense, or a session that is gone;
// trying again is useless.
var errProtocol = errors.New("unexpected answer")

type uploader struct {
	o       Options
	obj     Object
	session string
	res     Result
	retries int
}

// Upload reads obj.Size bytes from r and makes them the object.
func Upload(ctx context.Context, r io.Reader, obj Object, o Options) (*Result, error) {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Minute
	}
	if o.Retry.MaxAttempts == 0 {
		o.Retry.MaxAttempts = 8
	}
	if o.Retry.BaseDelay == 0 {
		o.Retry.BaseDelay = 500 * time.Millisecond
	}
	if o.Retry.MaxDelay == 0 {
		o.Retry.MaxDelay = 30 * time.Second
	}
	switch {
	case o.ChunkSize < 0 || o.ChunkSize%Quantum != 0:
		return nil, fmt.Errorf("chunk size %d: want a multiple of %d", o.ChunkSize, Quantum)
	case obj.Bucket == "" || obj.Name == "":
		return nil, errors.New("no bucket or object name")
	case obj.Size < 0:
		return nil, fmt.Errorf("size %d", obj.Size)
	case len(obj.MD5) != 16:
		return nil, errors.New("no MD5 digest of the object")
	}
	u := &uploader{o: o, obj: obj}
	if err := u.retry(ctx, "starting the upload", u.start); err != nil {
		return &u.res, err
	}
	err := u.send(ctx, r)
	if err != nil {
		u.cancel()
	}
	return &u.res, err
}

// retry runs step until it succeeds, fails for good or has been tried
// MaxAttempts times, with exponential backoff and jitter in between.
func (u *uploader) retry(ctx context.Context, what string, step func(context.Context) error) error {
	delay := u.o.Retry.BaseDelay
	for attempt := 1; ; attempt++ {
		err := step(ctx)
		if err == nil || !Transient(err) || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			if err != nil {
				err = fmt.Errorf("%s: %w", what, err)
			}
			return err
		}
		if attempt >= u.o.Retry.MaxAttempts {
			return fmt.Errorf("%s: %d attempts: %w", what, attempt, err)
		}
		u.retries++
		u.res.Retries = u.retries
		d := delay/2 + rand.N(delay/2+1)
		delay = min(2*delay, u.o.Retry.MaxDelay)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
	}
}

// do sends one request with the request timeout; the caller closes the
// body of the answer.
func (u *uploader) do(ctx context.Context, method, target string, body []byte, header http.Header) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, u.o.RequestTimeout)
	var rd io.Reader = http.NoBody
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	u.res.Requests++
	u.res.Sent += int64(len(body))
	resp, err := u.o.Client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{resp.Body, cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

// start opens the session.
func (u *uploader) start(ctx context.Context) error {
	base, err := url.Parse(u.o.BaseURL)
	if err != nil {
		return fmt.Errorf("base URL %q: %v", u.o.BaseURL, err)
	}
	ct := u.obj.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], u.obj.CRC32C)
	meta, err := json.Marshal(map[string]string{
		"name": u.obj.Name, "contentType": ct,
		"md5Hash": base64.StdEncoding.EncodeToString(u.obj.MD5),
		"crc32c":  base64.StdEncoding.EncodeToString(crc[:]),
	})
	if err != nil {
		return err
	}
	target := base.ResolveReference(&url.URL{
		Path:     "/upload/storage/v1/b/" + u.obj.Bucket + "/o",
		RawPath:  "/upload/storage/v1/b/" + url.PathEscape(u.obj.Bucket) + "/o",
		RawQuery: url.Values{"uploadType": {"resumable"}, "name": {u.obj.Name}}.Encode(),
	})
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Upload-Content-Type", ct)
	h.Set("X-Upload-Content-Length", strconv.FormatInt(u.obj.Size, 10))
	resp, err := u.do(ctx, http.MethodPost, target.String(), meta, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := googleapi.CheckResponse(resp); err != nil {
		return err
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return fmt.Errorf("%w: no session URI (Location) in the answer to %s", errProtocol, target.Redacted())
	}
	u.session = loc
	return nil
}

// status is what a PUT to the session says: the bytes it holds, or the
// object made.
type status struct {
	held int64
	done bool
	obj  objectInfo
}

type objectInfo struct {
	Name       string `json:"name"`
	Size       string `json:"size"`
	Generation string `json:"generation"`
	MD5Hash    string `json:"md5Hash"`
	CRC32C     string `json:"crc32c"`
}

// put sends bytes [first, first+len(data)) of the object, or asks how much
// the session holds when data is nil.
func (u *uploader) put(ctx context.Context, first int64, data []byte) (status, error) {
	h := http.Header{}
	switch {
	case data == nil:
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", u.obj.Size))
	case len(data) == 0:
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", u.obj.Size)) // an empty object
	default:
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, first+int64(len(data))-1, u.obj.Size))
	}
	resp, err := u.do(ctx, http.MethodPut, u.session, data, h)
	if err != nil {
		return status{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated:
		var st status
		st.done, st.held = true, u.obj.Size
		if err := json.NewDecoder(resp.Body).Decode(&st.obj); err != nil {
			return status{}, fmt.Errorf("%w: the object's description: %v", errProtocol, err)
		}
		return st, nil
	case http.StatusPermanentRedirect: // 308 Resume Incomplete
		r := resp.Header.Get("Range")
		if r == "" {
			return status{}, nil // nothing held
		}
		last, ok := strings.CutPrefix(r, "bytes=0-")
		n, err := strconv.ParseInt(last, 10, 64)
		if !ok || err != nil || n < 0 || n >= u.obj.Size {
			return status{}, fmt.Errorf("%w: Range %q", errProtocol, r)
		}
		return status{held: n + 1}, nil
	case http.StatusNotFound, http.StatusGone:
		return status{}, fmt.Errorf("%w: the upload session has expired or was cancelled (HTTP %d)", errProtocol, resp.StatusCode)
	}
	if err := googleapi.CheckResponse(resp); err != nil {
		return status{}, err
	}
	return status{}, fmt.Errorf("%w: HTTP %d", errProtocol, resp.StatusCode)
}

// send reads the object chunk by chunk and sends it.
func (u *uploader) send(ctx context.Context, r io.Reader) error {
	size := u.obj.Size
	buf := make([]byte, u.o.ChunkSize)
	var bufStart int64 // the object offset of buf[0]
	var filled int     // bytes in buf
	var held int64     // bytes the session holds
	failures, delay := 0, u.o.Retry.BaseDelay
	fail := func(err error) error { return &Error{Session: u.session, Offset: held, Err: err} }
	report := func() {
		if u.o.Progress != nil {
			u.o.Progress(Progress{Done: held, Total: size, Retries: u.retries})
		}
	}
	for {
		// Refill the buffer once the session holds all of it.
		if held == bufStart+int64(filled) && held < size {
			bufStart, filled = held, 0
			want := int(min(int64(len(buf)), size-held))
			n, err := io.ReadFull(r, buf[:want])
			filled = n
			if err != nil {
				return fail(fmt.Errorf("reading the object: %w after %d of %d bytes", err, bufStart+int64(n), size))
			}
			if bufStart+int64(filled) == size {
				// The last chunk: nothing may follow it.
				var one [1]byte
				if k, _ := io.ReadFull(r, one[:]); k > 0 {
					return fail(fmt.Errorf("reading the object: more than the %d bytes announced", size))
				}
			}
		}
		if held < bufStart {
			return fail(fmt.Errorf("%w: the session holds %d bytes, less than the %d already acknowledged", errProtocol, held, bufStart))
		}
		// A chunk that fails is followed by status queries until one is
		// answered, with backoff before each; the next round sends what
		// the session lacks. Failures count until the session holds more
		// than before them.
		st, err := u.put(ctx, held, buf[held-bufStart:filled])
		for err != nil {
			if !Transient(err) || ctx.Err() != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				return fail(err)
			}
			failures++
			if failures >= u.o.Retry.MaxAttempts {
				return fail(fmt.Errorf("%d attempts: %w", failures, err))
			}
			u.retries++
			u.res.Retries = u.retries
			report()
			if werr := sleep(ctx, delay/2+rand.N(delay/2+1)); werr != nil {
				return fail(werr)
			}
			delay = min(2*delay, u.o.Retry.MaxDelay)
			st, err = u.put(ctx, held, nil)
		}
		if st.held > held || st.done {
			failures, delay = 0, u.o.Retry.BaseDelay
		}
		if st.done {
			held = size
			report()
			return u.finish(st.obj)
		}
		if st.held > bufStart+int64(filled) {
			return fail(fmt.Errorf("%w: the session holds %d bytes, more than the %d sent", errProtocol, st.held, bufStart+int64(filled)))
		}
		held = st.held
		report()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish checks the object Cloud Storage made against what was announced.
func (u *uploader) finish(o objectInfo) error {
	if o.Size != strconv.FormatInt(u.obj.Size, 10) {
		return fmt.Errorf("%w: the object has %s bytes, not %d", errProtocol, o.Size, u.obj.Size)
	}
	if o.MD5Hash != "" && o.MD5Hash != base64.StdEncoding.EncodeToString(u.obj.MD5) {
		return fmt.Errorf("%w: the object's MD5 is %s, not that of the bytes sent", errProtocol, o.MD5Hash)
	}
	g, err := strconv.ParseInt(o.Generation, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: generation %q", errProtocol, o.Generation)
	}
	u.res.Generation = g
	return nil
}

// cancel deletes the session, so that Cloud Storage drops what it holds;
// it runs after a failure, with a context of its own.
func (u *uploader) cancel() {
	if u.session == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp, err := u.do(ctx, http.MethodDelete, u.session, nil, nil); err == nil {
		resp.Body.Close()
	}
}
