// Package awsfake is a local stand-in for the small part of Amazon EBS and
// Amazon EC2 that rump-launch-ec2 uses, for tests and benchmarks.
//
// It listens on 127.0.0.1 only and speaks the EBS direct APIs (REST/JSON:
// StartSnapshot, PutSnapshotBlock, CompleteSnapshot) and the EC2 query API
// (DescribeSnapshots, RegisterImage, DescribeImages, RunInstances,
// DescribeInstances, GetConsoleOutput, TerminateInstances). It checks what a
// real service checks and what a test wants proved: every request carries a
// valid Signature Version 4 for the fake credentials, every block's SHA-256
// checksum matches its data, the aggregate checksum and changed-block count of
// CompleteSnapshot match the blocks received. A request that breaks a rule is
// answered with an error and recorded as a violation.
//
// Env points the SDK's default configuration chain at the server, so the code
// under test runs unchanged, with AWS_ENDPOINT_URL and fake static credentials.
package awsfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Fake credentials and the region every test uses.
const (
	AccessKey = "AKIDRUMPTOOLSTEST"
	SecretKey = "rumptools/fake/secret/key/for/tests/only"
	Region    = "us-east-1"
)

// BlockSize is the only block size of the EBS direct APIs.
const BlockSize = 512 * 1024

// Call is one request the server received, after authentication.
type Call struct {
	Service string     // "ebs" or "ec2"
	Op      string     // operation name, e.g. "PutSnapshotBlock", "RegisterImage"
	Attempt int        // the SDK's attempt number (amz-sdk-request header), 0 if absent
	Params  url.Values // EC2: the form fields except Action and Version; EBS: path and x-amz-* header fields
	Body    int64      // request body size in bytes
}

// Fault is an injected error reply.
type Fault struct {
	Status  int    // HTTP status
	Code    string // error code, e.g. "ThrottlingException", "RequestLimitExceeded"
	Message string
}

// Snapshot is the server's view of one snapshot.
type Snapshot struct {
	ID          string
	VolumeSize  int64 // GiB
	Description string
	Tags        map[string]string
	Status      string           // "pending", "completed"
	Blocks      map[int32][]byte // block data, unless the server discards data
	Sums        map[int32][32]byte
	ZeroPuts    int    // PutSnapshotBlock requests whose block was all zeros (valid, but wasted)
	Changed     int    // ChangedBlocksCount given to CompleteSnapshot
	Checksum    string // aggregate checksum given to CompleteSnapshot
	polls       int
}

// Image is one registered image: the RegisterImage parameters as sent.
type Image struct {
	ID     string
	Params url.Values
}

// Instance is one instance started by RunInstances.
type Instance struct {
	ID         string
	ImageID    string
	Params     url.Values
	State      string
	consoleN   int
	terminated bool
}

// Server is a running fake. Set the exported hook fields before the code
// under test makes requests.
type Server struct {
	URL string

	// Fault, when set, is consulted for every authenticated request; a
	// non-nil reply is sent instead of handling the request.
	Fault func(Call) *Fault
	// Console returns the whole console text of an instance at the n-th
	// GetConsoleOutput call for it (n counts from 1).
	Console func(instanceID string, n int) string
	// PendingPolls is how many DescribeSnapshots calls still see a
	// completed snapshot as pending (default 0).
	PendingPolls int
	// DiscardData keeps only block checksums, not block data, so that
	// benchmarks can send gigabytes.
	DiscardData bool

	ts         *httptest.Server
	mu         sync.Mutex
	calls      []Call
	violations []string
	snapshots  map[string]*Snapshot
	images     map[string]*Image
	instances  map[string]*Instance
	requests   int
	bytesIn    int64
	seq        int
}

// New starts a server on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		snapshots: map[string]*Snapshot{},
		images:    map[string]*Image{},
		instances: map[string]*Instance{},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("awsfake: listen: %v", err)
	}
	s.ts = &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	s.ts.Start()
	s.URL = s.ts.URL
	t.Cleanup(s.ts.Close)
	return s
}

// Env sets the environment so that the SDK's default configuration chain
// uses this server, the fake credentials and region us-east-1, and reads no
// shared configuration file and no instance metadata.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":                    s.URL,
		"AWS_ACCESS_KEY_ID":                   AccessKey,
		"AWS_SECRET_ACCESS_KEY":               SecretKey,
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          Region,
		"AWS_DEFAULT_REGION":                  "",
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE":         "/dev/null",
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_ENDPOINT_URL_EBS":                "",
		"AWS_ENDPOINT_URL_EC2":                "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	} {
		t.Setenv(k, v)
	}
}

// Calls returns every authenticated request so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls of one operation.
func (s *Server) CallsTo(op string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Violations returns the protocol violations seen so far.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// Stats returns the number of HTTP requests received (authenticated or not,
// faults included) and the request body bytes received.
func (s *Server) Stats() (requests int, bodyBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.bytesIn
}

// Snapshot returns a copy of the snapshot with the given ID, or nil.
func (s *Server) Snapshot(id string) *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snapshots[id]
	if sn == nil {
		return nil
	}
	c := *sn
	c.Tags = maps.Clone(sn.Tags)
	c.Blocks = maps.Clone(sn.Blocks)
	c.Sums = maps.Clone(sn.Sums)
	return &c
}

// Snapshots returns the IDs of all snapshots, sorted.
func (s *Server) Snapshots() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.snapshots))
}

// Image returns a copy of the registered image with the given ID, or nil.
func (s *Server) Image(id string) *Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.images[id]
	if im == nil {
		return nil
	}
	return &Image{ID: im.ID, Params: maps.Clone(im.Params)}
}

// Images returns the IDs of all registered images, sorted.
func (s *Server) Images() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.images))
}

// Instance returns a copy of the instance with the given ID, or nil.
func (s *Server) Instance(id string) *Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return nil
	}
	c := *in
	c.Params = maps.Clone(in.Params)
	return &c
}

// Instances returns the IDs of all instances, sorted.
func (s *Server) Instances() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.instances))
}

// Content reassembles the first size bytes of the volume from the blocks
// received: blocks never written read as zeros, as on EBS.
func (sn *Snapshot) Content(size int64) []byte {
	out := make([]byte, size)
	for i, b := range sn.Blocks {
		off := int64(i) * BlockSize
		if off < size {
			copy(out[off:], b)
		}
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests++
	s.bytesIn += int64(len(body))
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	service := "ec2"
	if strings.HasPrefix(r.URL.Path, "/snapshots") {
		service = "ebs"
	}
	if msg := s.verifySignature(r, body, service); msg != "" {
		s.violate("%s %s: %s", r.Method, r.URL.Path, msg)
		s.fail(w, service, Fault{http.StatusForbidden, "SignatureDoesNotMatch", msg})
		return
	}
	if service == "ebs" {
		s.serveEBS(w, r, body)
	} else {
		s.serveEC2(w, r, body)
	}
}

func (s *Server) violate(format string, args ...any) {
	s.mu.Lock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// verifySignature checks the Signature Version 4 of a request against the
// fake credentials, following the published algorithm. It returns what is
// wrong, or "".
func (s *Server) verifySignature(r *http.Request, body []byte, service string) string {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "no Authorization header"
	}
	m := authRE.FindStringSubmatch(auth)
	if m == nil {
		return "malformed Authorization header: " + auth
	}
	key, day, region, svc, signedHeaders, sig := m[1], m[2], m[3], m[4], m[5], m[6]
	if key != AccessKey {
		return "unknown access key " + key
	}
	if region != Region || svc != service {
		return fmt.Sprintf("credential scope %s/%s, want %s/%s", region, svc, Region, service)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if len(amzDate) != 16 || amzDate[:8] != day {
		return "X-Amz-Date " + amzDate + " does not match the credential scope"
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	var canon strings.Builder
	names := strings.Split(signedHeaders, ";")
	if !sort.StringsAreSorted(names) || names[0] == "" {
		return "signed headers not sorted: " + signedHeaders
	}
	for _, name := range names {
		var v string
		switch name {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				return "signed header " + name + " missing"
			}
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		canon.WriteString(name + ":" + v + "\n")
	}
	for _, must := range []string{"host", "x-amz-date"} {
		if !strings.Contains(";"+signedHeaders+";", ";"+must+";") {
			return "header " + must + " not signed"
		}
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	creq := strings.Join([]string{r.Method, path, canonicalQuery(r.URL.Query()), canon.String(), signedHeaders, payloadHash}, "\n")
	creqSum := sha256.Sum256([]byte(creq))
	scope := day + "/" + region + "/" + svc + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
	k := hmacSHA256([]byte("AWS4"+SecretKey), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, svc)
	k = hmacSHA256(k, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(k, toSign))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "signature does not match"
	}
	return ""
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func attempt(r *http.Request) int {
	// amz-sdk-request: attempt=2; max=10
	for _, part := range strings.Split(r.Header.Get("Amz-Sdk-Request"), ";") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "attempt="); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// record logs the call and returns an injected fault for it, if any.
func (s *Server) record(c Call) *Fault {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	fault := s.Fault
	s.mu.Unlock()
	if fault != nil {
		return fault(c)
	}
	return nil
}

func (s *Server) fail(w http.ResponseWriter, service string, f Fault) {
	if service == "ebs" {
		w.Header().Set("X-Amzn-Requestid", s.nextID("req"))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", f.Code)
		w.WriteHeader(f.Status)
		json.NewEncoder(w).Encode(map[string]string{"message": f.Message})
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(f.Status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		xmlText(f.Code), xmlText(f.Message), s.nextID("req"))
}

func (s *Server) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s-%017x", prefix, 0x0123456789a00+s.seq)
}

var (
	blockPath    = regexp.MustCompile(`^/snapshots/([^/]+)/blocks/(\d+)$`)
	completePath = regexp.MustCompile(`^/snapshots/completion/([^/]+)$`)
)

func (s *Server) serveEBS(w http.ResponseWriter, r *http.Request, body []byte) {
	c := Call{Service: "ebs", Attempt: attempt(r), Params: url.Values{}, Body: int64(len(body))}
	for k, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") && !strings.EqualFold(k, "X-Amz-Date") &&
			!strings.EqualFold(k, "X-Amz-Content-Sha256") && !strings.EqualFold(k, "X-Amz-Security-Token") {
			c.Params[strings.ToLower(k)] = v
		}
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/snapshots":
		c.Op = "StartSnapshot"
	case r.Method == http.MethodPut && blockPath.MatchString(r.URL.Path):
		c.Op = "PutSnapshotBlock"
		m := blockPath.FindStringSubmatch(r.URL.Path)
		c.Params.Set("SnapshotId", m[1])
		c.Params.Set("BlockIndex", m[2])
	case r.Method == http.MethodPost && completePath.MatchString(r.URL.Path):
		c.Op = "CompleteSnapshot"
		c.Params.Set("SnapshotId", completePath.FindStringSubmatch(r.URL.Path)[1])
	default:
		s.violate("ebs: unknown request %s %s", r.Method, r.URL.Path)
		s.fail(w, "ebs", Fault{http.StatusNotFound, "UnknownOperationException", r.Method + " " + r.URL.Path})
		return
	}
	if f := s.record(c); f != nil {
		s.fail(w, "ebs", *f)
		return
	}
	var f *Fault
	switch c.Op {
	case "StartSnapshot":
		f = s.startSnapshot(w, body)
	case "PutSnapshotBlock":
		f = s.putBlock(w, r, c, body)
	case "CompleteSnapshot":
		f = s.completeSnapshot(w, r, c)
	}
	if f != nil {
		s.violate("%s: %s", c.Op, f.Message)
		s.fail(w, "ebs", *f)
	}
}

func invalid(format string, args ...any) *Fault {
	return &Fault{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

func (s *Server) startSnapshot(w http.ResponseWriter, body []byte) *Fault {
	var in struct {
		VolumeSize  int64
		Description string
		Tags        []struct{ Key, Value string }
		ClientToken string
		Timeout     int32
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return invalid("StartSnapshot body: %v", err)
	}
	if in.VolumeSize < 1 || in.VolumeSize > 65536 {
		return invalid("VolumeSize %d out of range 1..65536", in.VolumeSize)
	}
	sn := &Snapshot{
		ID: s.nextID("snap"), VolumeSize: in.VolumeSize, Description: in.Description,
		Tags: map[string]string{}, Status: "pending",
		Blocks: map[int32][]byte{}, Sums: map[int32][32]byte{},
	}
	for _, t := range in.Tags {
		sn.Tags[t.Key] = t.Value
	}
	s.mu.Lock()
	s.snapshots[sn.ID] = sn
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"SnapshotId": sn.ID, "OwnerId": "123456789012", "Status": "pending",
		"StartTime": 1700000000, "VolumeSize": sn.VolumeSize, "BlockSize": BlockSize,
		"Description": sn.Description, "Tags": in.Tags,
	})
	return nil
}

func (s *Server) putBlock(w http.ResponseWriter, r *http.Request, c Call, body []byte) *Fault {
	id := c.Params.Get("SnapshotId")
	idx, err := strconv.ParseInt(c.Params.Get("BlockIndex"), 10, 32)
	if err != nil {
		return invalid("block index %q", c.Params.Get("BlockIndex"))
	}
	if n := r.Header.Get("X-Amz-Data-Length"); n != strconv.Itoa(BlockSize) {
		return invalid("x-amz-Data-Length %q, want %d", n, BlockSize)
	}
	if len(body) != BlockSize {
		return invalid("block %d: body of %d bytes, want %d", idx, len(body), BlockSize)
	}
	if a := r.Header.Get("X-Amz-Checksum-Algorithm"); a != "SHA256" {
		return invalid("block %d: x-amz-Checksum-Algorithm %q, want SHA256", idx, a)
	}
	sum := sha256.Sum256(body)
	if got, want := r.Header.Get("X-Amz-Checksum"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return invalid("block %d: x-amz-Checksum %q does not match the data (%s)", idx, got, want)
	}
	zero := bytes.Count(body, []byte{0}) == len(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snapshots[id]
	if sn == nil {
		return &Fault{http.StatusNotFound, "ResourceNotFoundException", "no snapshot " + id}
	}
	if sn.Status != "pending" {
		return invalid("snapshot %s is %s", id, sn.Status)
	}
	if idx < 0 || idx >= sn.VolumeSize<<30/BlockSize {
		return invalid("block index %d outside a %d GiB volume", idx, sn.VolumeSize)
	}
	if zero {
		sn.ZeroPuts++
	}
	if !s.DiscardData {
		sn.Blocks[int32(idx)] = body
	}
	sn.Sums[int32(idx)] = sum
	w.Header().Set("X-Amz-Checksum", r.Header.Get("X-Amz-Checksum"))
	w.Header().Set("X-Amz-Checksum-Algorithm", "SHA256")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, "{}")
	return nil
}

func (s *Server) completeSnapshot(w http.ResponseWriter, r *http.Request, c Call) *Fault {
	id := c.Params.Get("SnapshotId")
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snapshots[id]
	if sn == nil {
		return &Fault{http.StatusNotFound, "ResourceNotFoundException", "no snapshot " + id}
	}
	n, err := strconv.Atoi(r.Header.Get("X-Amz-Changedblockscount"))
	if err != nil || n != len(sn.Sums) {
		return invalid("x-amz-ChangedBlocksCount %q, but %d blocks were written", r.Header.Get("X-Amz-ChangedBlocksCount"), len(sn.Sums))
	}
	if sum := r.Header.Get("X-Amz-Checksum"); sum != "" {
		if a := r.Header.Get("X-Amz-Checksum-Algorithm"); a != "SHA256" {
			return invalid("x-amz-Checksum-Algorithm %q, want SHA256", a)
		}
		if m := r.Header.Get("X-Amz-Checksum-Aggregation-Method"); m != "LINEAR" {
			return invalid("x-amz-Checksum-Aggregation-Method %q, want LINEAR", m)
		}
		if want := AggregateChecksum(sn.Sums); sum != want {
			return invalid("aggregate checksum %q, want %q", sum, want)
		}
		sn.Checksum = sum
	}
	sn.Changed = n
	sn.Status = "completed"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"Status":"pending"}`)
	return nil
}

// AggregateChecksum is the LINEAR aggregate of the EBS direct APIs: the
// base64 SHA-256 of the binary SHA-256 digests of the written blocks,
// concatenated in ascending block index order.
func AggregateChecksum(sums map[int32][32]byte) string {
	idx := make([]int32, 0, len(sums))
	for i := range sums {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	h := sha256.New()
	for _, i := range idx {
		d := sums[i]
		h.Write(d[:])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
