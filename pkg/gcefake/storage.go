package gcefake

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// quantum is the unit in which Cloud Storage takes and keeps chunks.
const quantum = 256 << 10

// Object is a finished upload.
type Object struct {
	Bucket, Name string
	ContentType  string
	Size         int64
	Data         []byte // nil when the server discards data
	MD5          []byte
	CRC32C       uint32
	Generation   int64
}

// session is an upload in progress.
type session struct {
	id           string
	bucket, name string
	contentType  string
	size         int64  // announced with X-Upload-Content-Length
	md5, crc     string // announced in the metadata (base64), "" if not
	held         int64
	data         bytes.Buffer
	md5h         hash.Hash
	crch         hash.Hash32
	done         *Object
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Object returns the object bucket/name, or nil.
func (s *Server) Object(bucket, name string) *Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objects[bucket+"/"+name]
}

// Uploaded returns every object made so far, in order, deleted ones
// included.
func (s *Server) Uploaded() []*Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Object(nil), s.uploaded...)
}

// Objects lists the objects as "bucket/name".
func (s *Server) Objects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.objects {
		out = append(out, k)
	}
	return out
}

func (s *Server) uploadStart(w http.ResponseWriter, r *http.Request, c *Call) {
	bucket := r.PathValue("bucket")
	q := r.URL.Query()
	if q.Get("uploadType") != "resumable" {
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload start: uploadType %q, want resumable", q.Get("uploadType")))
		return
	}
	var meta struct {
		Name, ContentType, MD5Hash, CRC32C string
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &meta); err != nil {
		apiError(w, http.StatusBadRequest, "parseError", s.violate("upload start: metadata: %v", err))
		return
	}
	name := q.Get("name")
	if name == "" {
		name = meta.Name
	}
	size, err := strconv.ParseInt(r.Header.Get("X-Upload-Content-Length"), 10, 64)
	switch {
	case name == "" || (meta.Name != "" && meta.Name != name):
		apiError(w, http.StatusBadRequest, "required", s.violate("upload start: object name %q in the query, %q in the metadata", name, meta.Name))
		return
	case err != nil || size < 0:
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload start: X-Upload-Content-Length %q", r.Header.Get("X-Upload-Content-Length")))
		return
	case ctOf(r.Header.Get("X-Upload-Content-Type"), meta.ContentType) == "":
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload start: content type %q in X-Upload-Content-Type, %q in the metadata", r.Header.Get("X-Upload-Content-Type"), meta.ContentType))
		return
	}
	ss := &session{id: s.nextID("upload-"), bucket: bucket, name: name, contentType: ctOf(r.Header.Get("X-Upload-Content-Type"), meta.ContentType),
		size: size, md5: meta.MD5Hash, crc: meta.CRC32C, md5h: md5.New(), crch: crc32.New(castagnoli)}
	s.sessions[ss.id] = ss
	w.Header().Set("Location", s.URL+r.URL.Path+"?uploadType=resumable&upload_id="+ss.id)
	w.WriteHeader(http.StatusOK)
}

// ctOf returns the content type when the header and the metadata agree.
func ctOf(header, meta string) string {
	switch {
	case header == "":
		return meta
	case meta == "" || meta == header:
		return header
	}
	return ""
}

var rangeRE = regexp.MustCompile(`^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$`)

func (s *Server) session(w http.ResponseWriter, r *http.Request) *session {
	ss := s.sessions[r.URL.Query().Get("upload_id")]
	if ss == nil || ss.bucket != r.PathValue("bucket") {
		apiError(w, http.StatusNotFound, "notFound", s.violate("%s: no upload session %q", r.Method, r.URL.Query().Get("upload_id")))
		return nil
	}
	return ss
}

// answer tells the client what the session holds.
func (s *Server) answer(w http.ResponseWriter, ss *session) {
	if ss.done != nil {
		s.objectJSON(w, http.StatusOK, ss.done)
		return
	}
	if ss.held > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", ss.held-1))
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusPermanentRedirect)
}

func (s *Server) uploadPut(w http.ResponseWriter, r *http.Request, c *Call) {
	ss := s.session(w, r)
	if ss == nil {
		return
	}
	cr := r.Header.Get("Content-Range")
	m := rangeRE.FindStringSubmatch(cr)
	if m == nil {
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: Content-Range %q", cr))
		return
	}
	if m[3] != "*" {
		if total, _ := strconv.ParseInt(m[3], 10, 64); total != ss.size {
			apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: Content-Range %q, but %d bytes were announced", cr, ss.size))
			return
		}
	}
	if m[1] == "" { // a status query, or the end of an empty object
		if r.ContentLength > 0 {
			apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: %d bytes with Content-Range %q", r.ContentLength, cr))
			return
		}
		if ss.size == 0 && ss.done == nil {
			s.complete(w, ss)
			return
		}
		s.answer(w, ss)
		return
	}
	first, _ := strconv.ParseInt(m[1], 10, 64)
	last, _ := strconv.ParseInt(m[2], 10, 64)
	n := last - first + 1
	switch {
	case ss.done != nil:
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: data for a finished upload"))
		return
	case n <= 0 || r.ContentLength != n:
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: Content-Range %q with Content-Length %d", cr, r.ContentLength))
		return
	case first != ss.held:
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: chunk from byte %d, but the session holds %d", first, ss.held))
		return
	case last+1 > ss.size:
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: chunk to byte %d of %d", last, ss.size))
		return
	case last+1 < ss.size && n%quantum != 0:
		apiError(w, http.StatusBadRequest, "invalid", s.violate("upload: a chunk of %d bytes that is not the last and not a multiple of 256 KiB", n))
		return
	}
	s.chunks++
	var fault *ChunkFault
	if s.ChunkFault != nil {
		fault = s.ChunkFault(s.chunks, first, int(n))
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r.Body, data); err != nil {
		apiError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("upload: body: %v", err))
		return
	}
	if fault != nil && (fault.Status != 0 || fault.Drop) {
		keep := min(max(fault.Keep, 0), n) / quantum * quantum
		s.keep(ss, data[:keep])
		if fault.Drop {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
		}
		apiError(w, fault.Status, "backendError", "injected failure")
		return
	}
	if fault != nil { // a success that keeps part of the chunk
		data = data[:min(max(fault.Keep, 0), n)/quantum*quantum]
	}
	s.keep(ss, data)
	if ss.held == ss.size {
		s.complete(w, ss)
		return
	}
	s.answer(w, ss)
}

func (s *Server) keep(ss *session, data []byte) {
	ss.held += int64(len(data))
	ss.md5h.Write(data)
	ss.crch.Write(data)
	if !s.DiscardData {
		ss.data.Write(data)
	}
}

// complete makes the object, if its digests match the announced ones.
func (s *Server) complete(w http.ResponseWriter, ss *session) {
	sum := ss.md5h.Sum(nil)
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], ss.crch.Sum32())
	if ss.md5 != "" && ss.md5 != base64.StdEncoding.EncodeToString(sum) {
		apiError(w, http.StatusBadRequest, "invalid", "Provided MD5 hash doesn't match calculated MD5 hash.")
		delete(s.sessions, ss.id)
		return
	}
	if ss.crc != "" && ss.crc != base64.StdEncoding.EncodeToString(crc[:]) {
		apiError(w, http.StatusBadRequest, "invalid", "Provided CRC32C doesn't match calculated CRC32C.")
		delete(s.sessions, ss.id)
		return
	}
	o := &Object{Bucket: ss.bucket, Name: ss.name, ContentType: ss.contentType, Size: ss.size, MD5: sum, CRC32C: ss.crch.Sum32(), Generation: int64(1000 + s.seq)}
	s.seq++
	if !s.DiscardData {
		o.Data = bytes.Clone(ss.data.Bytes())
	}
	ss.data = bytes.Buffer{}
	ss.done = o
	s.objects[o.Bucket+"/"+o.Name] = o
	s.uploaded = append(s.uploaded, o)
	s.objectJSON(w, http.StatusOK, o)
}

func (s *Server) objectJSON(w http.ResponseWriter, code int, o *Object) {
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], o.CRC32C)
	writeJSON(w, code, map[string]string{
		"kind": "storage#object", "bucket": o.Bucket, "name": o.Name, "contentType": o.ContentType,
		"size": strconv.FormatInt(o.Size, 10), "generation": strconv.FormatInt(o.Generation, 10),
		"md5Hash": base64.StdEncoding.EncodeToString(o.MD5), "crc32c": base64.StdEncoding.EncodeToString(crc[:]),
	})
}

// uploadCancel ends a session, as Cloud Storage answers it: 499.
func (s *Server) uploadCancel(w http.ResponseWriter, r *http.Request, c *Call) {
	ss := s.session(w, r)
	if ss == nil {
		return
	}
	delete(s.sessions, ss.id)
	w.WriteHeader(499)
}

func (s *Server) objectDelete(w http.ResponseWriter, r *http.Request, c *Call) {
	key := r.PathValue("bucket") + "/" + r.PathValue("object")
	if s.objects[key] == nil {
		apiError(w, http.StatusNotFound, "notFound", "No such object: "+key)
		return
	}
	delete(s.objects, key)
	w.WriteHeader(http.StatusNoContent)
}

// objectAt finds the object a Compute Engine rawDisk.source names.
func (s *Server) objectAt(source string) (*Object, error) {
	rest, ok := strings.CutPrefix(source, "https://storage.googleapis.com/")
	if !ok {
		return nil, fmt.Errorf("rawDisk.source %q is not a Cloud Storage URL (https://storage.googleapis.com/BUCKET/OBJECT)", source)
	}
	o := s.objects[rest]
	if o == nil {
		return nil, fmt.Errorf("rawDisk.source %q: no such object", source)
	}
	return o, nil
}
