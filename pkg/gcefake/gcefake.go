// Package gcefake is a local stand-in for the small part of Google Cloud
// that rump-launch-gce uses, for tests and benchmarks.
//
// It listens on 127.0.0.1 only and speaks:
//   - OAuth 2.0 for service accounts: the JWT bearer grant at /token, whose
//     assertion must be signed with the key of the credentials file that
//     Env writes (Application Default Credentials find it through
//     GOOGLE_APPLICATION_CREDENTIALS); every other request must carry a
//     token it issued;
//   - Cloud Storage's JSON API: resumable uploads (start, chunks, status
//     queries, cancel) and objects.delete;
//   - Compute Engine's API: images (get, insert from an archive in the
//     bucket, delete), instances (insert, get, getSerialPortOutput,
//     delete) and their global and zonal operations (get, wait).
//
// It checks what the services check and what a test wants proved: chunk
// sizes and offsets, the announced size and digests against the bytes
// received, the image archive as Compute Engine reads it (gzip, a tar
// holding exactly disk.raw, a whole number of GiB), the references between
// requests. A request that breaks a rule is answered with an error and
// recorded as a violation. Faults can be injected, among them a chunk that
// fails after the session kept part of it.
package gcefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake identity and the scope every token must be for.
const (
	ClientEmail = "rumptools-test@fake-project.iam.gserviceaccount.com"
	Scope       = "https://www.googleapis.com/auth/cloud-platform"
)

// Call is one request the server received.
type Call struct {
	Op     string     // e.g. "token", "upload.start", "upload.put", "upload.query", "images.insert", "instances.getSerialPortOutput"
	Method string     // HTTP method
	Path   string     // URL path
	Query  url.Values // URL query
	Header http.Header
	Body   int64 // request body bytes
}

// Fault is an injected error answer.
type Fault struct {
	Status  int    // HTTP status
	Reason  string // error reason, e.g. "backendError", "rateLimitExceeded"
	Message string
}

// ChunkFault changes what happens to a chunk: the session keeps Keep bytes
// of it (rounded down to 256 KiB, as Cloud Storage keeps data), then
// answers with Status, or with Drop closes the connection without an
// answer; with neither, it answers as usual with what it kept, as Cloud
// Storage may.
type ChunkFault struct {
	Keep   int64
	Status int
	Drop   bool
}

// Server is a running fake. Set the exported hook fields before the code
// under test makes requests.
type Server struct {
	URL string // http://127.0.0.1:PORT

	// Fault, when set, is consulted for every authenticated request but
	// the chunks of an upload; a non-nil answer is sent instead of
	// handling the request.
	Fault func(Call) *Fault
	// ChunkFault, when set, is consulted for every upload PUT that carries
	// data (n counts them from 1 across uploads).
	ChunkFault func(n int, first int64, length int) *ChunkFault
	// Console returns the whole serial port 1 output of an instance at
	// the n-th getSerialPortOutput call for it (n counts from 1), and a
	// status to give the instance from then on ("" leaves it).
	Console func(instance string, n int) (text, status string)
	// Retain is how much serial output the instance keeps (default 1 MiB,
	// as Compute Engine).
	Retain int
	// OperationPolls is how many more looks (get or wait) an operation
	// takes before it is DONE (default 0: DONE at the first look).
	OperationPolls int
	// DiscardData keeps only the size and digests of objects, not their
	// bytes, so that benchmarks can send gigabytes; images cannot be made
	// from such objects.
	DiscardData bool

	ts      *httptest.Server
	key     *rsa.PrivateKey
	credDir string

	mu         sync.Mutex
	calls      []Call
	violations []string
	tokens     map[string]bool
	sessions   map[string]*session
	objects    map[string]*Object // "bucket/name"
	uploaded   []*Object
	images     map[string]*Image // "project/name"
	instances  map[string]*Instance
	ops        map[string]*operation
	requestIDs map[string]string // requestId -> operation name
	chunks     int
	bodyBytes  int64
	seq        int
}

// New starts a server and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("gcefake: %v", err)
	}
	s := &Server{
		key: key, credDir: t.TempDir(),
		tokens: map[string]bool{}, sessions: map[string]*session{}, objects: map[string]*Object{},
		images: map[string]*Image{}, instances: map[string]*Instance{}, ops: map[string]*operation{},
		requestIDs: map[string]string{},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gcefake: listen: %v", err)
	}
	s.ts = &httptest.Server{Listener: l, Config: &http.Server{Handler: s.routes()}}
	s.ts.Start()
	s.URL = s.ts.URL
	t.Cleanup(s.ts.Close)
	return s
}

// ComputeEndpoint and StorageEndpoint are the services' base URLs, as
// option.WithEndpoint and the gcloud endpoint override properties take
// them.
func (s *Server) ComputeEndpoint() string { return s.URL + "/compute/v1/" }

// StorageEndpoint: see ComputeEndpoint.
func (s *Server) StorageEndpoint() string { return s.URL + "/storage/v1/" }

// CredentialsFile writes a service account key file whose token URI is
// this server's and returns its path.
func (s *Server) CredentialsFile(t testing.TB) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "fake-project", "private_key_id": "fake-key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": ClientEmail, "client_id": "1", "token_uri": s.URL + "/token",
	})
	p := filepath.Join(s.credDir, "credentials.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Env sets the environment so that Application Default Credentials use
// this server's key and token endpoint, the gcloud endpoint overrides
// point at it, and nothing looks for a metadata server or a gcloud
// configuration elsewhere than on loopback and in a temporary directory.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", s.CredentialsFile(t))
	t.Setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", s.ComputeEndpoint())
	t.Setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", s.StorageEndpoint())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
	t.Setenv("GCE_METADATA_IP", "127.0.0.1:1")
	t.Setenv("NO_GCE_CHECK", "True")
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Violations returns the rules requests broke.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// Stats returns the number of requests and of request body bytes.
func (s *Server) Stats() (requests int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls), s.bodyBytes
}

func (s *Server) violate(format string, args ...any) string {
	m := fmt.Sprintf(format, args...)
	s.violations = append(s.violations, m)
	return m
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

// apiError writes an error in the form of Google's JSON APIs.
func apiError(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg, "errors": []any{map[string]any{"reason": reason, "message": msg}},
	}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// handler is one route: its operation name and its function, called with
// the lock held.
type handler struct {
	op string
	fn func(w http.ResponseWriter, r *http.Request, c *Call)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	const cp = "/compute/v1/projects/{project}"
	for pattern, h := range map[string]handler{
		"POST /upload/storage/v1/b/{bucket}/o":                        {"upload.start", s.uploadStart},
		"PUT /upload/storage/v1/b/{bucket}/o":                         {"upload.put", s.uploadPut},
		"DELETE /upload/storage/v1/b/{bucket}/o":                      {"upload.cancel", s.uploadCancel},
		"DELETE /storage/v1/b/{bucket}/o/{object}":                    {"objects.delete", s.objectDelete},
		"GET " + cp + "/global/images/{image}":                        {"images.get", s.imageGet},
		"POST " + cp + "/global/images":                               {"images.insert", s.imageInsert},
		"DELETE " + cp + "/global/images/{image}":                     {"images.delete", s.imageDelete},
		"GET " + cp + "/global/operations/{op}":                       {"globalOperations.get", s.opGet},
		"POST " + cp + "/global/operations/{op}/wait":                 {"globalOperations.wait", s.opGet},
		"POST " + cp + "/zones/{zone}/instances":                      {"instances.insert", s.instanceInsert},
		"GET " + cp + "/zones/{zone}/instances/{instance}":            {"instances.get", s.instanceGet},
		"DELETE " + cp + "/zones/{zone}/instances/{instance}":         {"instances.delete", s.instanceDelete},
		"GET " + cp + "/zones/{zone}/instances/{instance}/serialPort": {"instances.getSerialPortOutput", s.serialPort},
		"GET " + cp + "/zones/{zone}/operations/{op}":                 {"zoneOperations.get", s.opGet},
		"POST " + cp + "/zones/{zone}/operations/{op}/wait":           {"zoneOperations.wait", s.opGet},
	} {
		mux.HandleFunc(pattern, s.wrap(h))
	}
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		m := s.violate("no such call: %s %s", r.Method, r.URL.Path)
		s.mu.Unlock()
		apiError(w, http.StatusNotFound, "notFound", m)
	})
	return mux
}

// wrap authenticates a request, records it, consults the faults and runs
// the handler with the lock held.
func (s *Server) wrap(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c := Call{Op: h.op, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: r.ContentLength}
		if c.Op == "upload.put" && r.Header.Get("Content-Range") != "" && strings.HasPrefix(r.Header.Get("Content-Range"), "bytes */") {
			c.Op = "upload.query"
		}
		s.calls = append(s.calls, c)
		if r.ContentLength > 0 {
			s.bodyBytes += r.ContentLength
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokens[tok] {
			apiError(w, http.StatusUnauthorized, "authError", s.violate("%s %s: no valid access token", r.Method, r.URL.Path))
			return
		}
		if s.Fault != nil && c.Op != "upload.put" {
			if f := s.Fault(c); f != nil {
				apiError(w, f.Status, f.Reason, f.Message)
				return
			}
		}
		h.fn(w, r, &s.calls[len(s.calls)-1])
	}
}

// token grants an access token for a service account's signed assertion.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Op: "token", Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: r.ContentLength})
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		apiError(w, http.StatusBadRequest, "unsupported_grant_type", s.violate("token: grant type %q", g))
		return
	}
	if err := s.checkAssertion(r.PostForm.Get("assertion")); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_grant", s.violate("token: %v", err))
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := "fake-token-" + hex.EncodeToString(b)
	s.tokens[tok] = true
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// checkAssertion verifies an RS256 JWT: signed with the server's key, by
// the fake account, for this token endpoint, asking for Scope.
func (s *Server) checkAssertion(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("assertion is not a JWT")
	}
	var head struct{ Alg string }
	var claims struct {
		Iss, Scope, Aud string
		Iat, Exp        int64
	}
	for i, v := range []any{&head, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return fmt.Errorf("JWT part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("JWT part %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch {
	case head.Alg != "RS256":
		return fmt.Errorf("JWT algorithm %q", head.Alg)
	case rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) != nil:
		return fmt.Errorf("JWT signature does not verify")
	case claims.Iss != ClientEmail:
		return fmt.Errorf("JWT issuer %q", claims.Iss)
	case claims.Aud != s.URL+"/token":
		return fmt.Errorf("JWT audience %q", claims.Aud)
	case !strings.Contains(" "+claims.Scope+" ", " "+Scope+" "):
		return fmt.Errorf("JWT scope %q lacks %s", claims.Scope, Scope)
	case claims.Exp <= time.Now().Unix():
		return fmt.Errorf("JWT expired")
	}
	return nil
}
