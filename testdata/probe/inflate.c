/*
 * gzip (RFC 1952) and inflate (RFC 1951) for the probe kernel: stored,
 * fixed and dynamic Huffman blocks, CRC-32 and ISIZE checked. Every read
 * is checked against the end of the input and every write against the
 * capacity of the output, so damaged input ends in an error, not a fault.
 */
#include "probe.h"

#define MAXBITS 15

const char inflate_nospace[] = "output does not fit in memory";

struct inflate {
	const u8 *in;
	ulong inlen, inpos;
	u32 bitbuf;
	int bitcnt;
	u8 *out;
	ulong cap, outpos;
	const char *err;
};

/* A canonical Huffman code: codes per length, symbols in code order. */
struct huffman {
	u16 count[MAXBITS + 1];
	u16 symbol[288];
};

static void fail(struct inflate *s, const char *err)
{
	if (!s->err)
		s->err = err;
}

/* need bits (at most 16), least significant first; 0 after an error. */
static u32 bits(struct inflate *s, int need)
{
	u32 v = s->bitbuf;
	while (s->bitcnt < need) {
		if (s->inpos >= s->inlen) {
			fail(s, "truncated deflate data");
			return 0;
		}
		v |= (u32)s->in[s->inpos++] << s->bitcnt;
		s->bitcnt += 8;
	}
	s->bitbuf = v >> need;
	s->bitcnt -= need;
	return v & ((1u << need) - 1);
}

/* Builds h from n code lengths; -1 if the lengths over-subscribe. */
static int build(struct huffman *h, const u8 *lengths, int n)
{
	u16 offs[MAXBITS + 1];
	int sym, len, left = 1;

	for (len = 0; len <= MAXBITS; len++)
		h->count[len] = 0;
	for (sym = 0; sym < n; sym++)
		h->count[lengths[sym]]++;
	for (len = 1; len <= MAXBITS; len++) {
		left <<= 1;
		left -= h->count[len];
		if (left < 0)
			return -1;
	}
	offs[1] = 0;
	for (len = 1; len < MAXBITS; len++)
		offs[len + 1] = (u16)(offs[len] + h->count[len]);
	for (sym = 0; sym < n; sym++)
		if (lengths[sym])
			h->symbol[offs[lengths[sym]]++] = (u16)sym;
	return 0;
}

/* Decodes one symbol bit by bit; -1 for a code the table lacks. */
static int decode(struct inflate *s, const struct huffman *h)
{
	int code = 0, first = 0, index = 0, len;
	for (len = 1; len <= MAXBITS; len++) {
		int count;
		code |= (int)bits(s, 1);
		if (s->err)
			return -1;
		count = h->count[len];
		if (code - first < count)
			return h->symbol[index + code - first];
		index += count;
		first = (first + count) << 1;
		code <<= 1;
	}
	fail(s, "invalid Huffman code");
	return -1;
}

static const u16 lbase[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const u8 lextra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const u16 dbase[30] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
	8193, 12289, 16385, 24577 };
static const u8 dextra[30] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static void codes(struct inflate *s, const struct huffman *lit,
    const struct huffman *dist)
{
	for (;;) {
		int sym = decode(s, lit);
		if (s->err)
			return;
		if (sym < 256) {
			if (s->outpos >= s->cap) {
				fail(s, inflate_nospace);
				return;
			}
			s->out[s->outpos++] = (u8)sym;
		} else if (sym == 256) {
			return;
		} else {
			ulong len, d;
			sym -= 257;
			if (sym >= 29) {
				fail(s, "invalid length code");
				return;
			}
			len = lbase[sym] + bits(s, lextra[sym]);
			sym = decode(s, dist);
			if (s->err)
				return;
			if (sym >= 30) {
				fail(s, "invalid distance code");
				return;
			}
			d = dbase[sym] + bits(s, dextra[sym]);
			if (s->err)
				return;
			if (d > s->outpos) {
				fail(s, "distance too far back");
				return;
			}
			if (len > s->cap - s->outpos) {
				fail(s, inflate_nospace);
				return;
			}
			while (len--) {
				s->out[s->outpos] = s->out[s->outpos - d];
				s->outpos++;
			}
		}
	}
}

static void stored(struct inflate *s)
{
	ulong len, nlen;
	s->bitbuf = 0;	/* skip to the byte boundary */
	s->bitcnt = 0;
	if (s->inlen - s->inpos < 4) {
		fail(s, "truncated stored block");
		return;
	}
	len = s->in[s->inpos] | (ulong)s->in[s->inpos + 1] << 8;
	nlen = s->in[s->inpos + 2] | (ulong)s->in[s->inpos + 3] << 8;
	s->inpos += 4;
	if (len != (~nlen & 0xffff)) {
		fail(s, "stored block length check failed");
		return;
	}
	if (len > s->inlen - s->inpos) {
		fail(s, "truncated stored block");
		return;
	}
	if (len > s->cap - s->outpos) {
		fail(s, inflate_nospace);
		return;
	}
	memcpy(s->out + s->outpos, s->in + s->inpos, len);
	s->inpos += len;
	s->outpos += len;
}

static void fixed(struct inflate *s)
{
	static struct huffman lit, dist;
	static int built;
	if (!built) {
		u8 l[288];
		int i;
		for (i = 0; i < 144; i++) l[i] = 8;
		for (; i < 256; i++) l[i] = 9;
		for (; i < 280; i++) l[i] = 7;
		for (; i < 288; i++) l[i] = 8;
		build(&lit, l, 288);
		for (i = 0; i < 30; i++) l[i] = 5;
		build(&dist, l, 30);
		built = 1;
	}
	codes(s, &lit, &dist);
}

static void dynamic(struct inflate *s)
{
	static const u8 order[19] = {
		16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
	static struct huffman lit, dist, lencode;
	u8 lengths[286 + 30];
	int nlen, ndist, ncode, i;

	nlen = (int)bits(s, 5) + 257;
	ndist = (int)bits(s, 5) + 1;
	ncode = (int)bits(s, 4) + 4;
	if (s->err)
		return;
	if (nlen > 286 || ndist > 30) {
		fail(s, "too many length or distance codes");
		return;
	}
	for (i = 0; i < 19; i++)
		lengths[order[i]] = i < ncode ? (u8)bits(s, 3) : 0;
	if (s->err)
		return;
	if (build(&lencode, lengths, 19) < 0) {
		fail(s, "invalid code-length code");
		return;
	}
	for (i = 0; i < nlen + ndist;) {
		int sym = decode(s, &lencode), rep;
		u8 val = 0;
		if (s->err)
			return;
		if (sym < 16) {
			lengths[i++] = (u8)sym;
			continue;
		}
		if (sym == 16) {
			if (i == 0) {
				fail(s, "repeat with no previous length");
				return;
			}
			val = lengths[i - 1];
			rep = 3 + (int)bits(s, 2);
		} else if (sym == 17) {
			rep = 3 + (int)bits(s, 3);
		} else {
			rep = 11 + (int)bits(s, 7);
		}
		if (s->err)
			return;
		if (i + rep > nlen + ndist) {
			fail(s, "too many code lengths");
			return;
		}
		while (rep--)
			lengths[i++] = val;
	}
	if (lengths[256] == 0) {
		fail(s, "no end-of-block code");
		return;
	}
	if (build(&lit, lengths, nlen) < 0 ||
	    build(&dist, lengths + nlen, ndist) < 0) {
		fail(s, "invalid literal/length or distance code");
		return;
	}
	codes(s, &lit, &dist);
}

static void inflate(struct inflate *s)
{
	int last;
	do {
		int type;
		last = (int)bits(s, 1);
		type = (int)bits(s, 2);
		if (s->err)
			return;
		switch (type) {
		case 0: stored(s); break;
		case 1: fixed(s); break;
		case 2: dynamic(s); break;
		default: fail(s, "invalid block type"); break;
		}
	} while (!last && !s->err);
	s->bitbuf = 0;	/* the rest of the last byte is padding */
	s->bitcnt = 0;
}

static u32 crctab[256];

u32 crc32_update(u32 crc, const u8 *p, ulong n)
{
	if (!crctab[1]) {
		u32 i, k, c;
		for (i = 0; i < 256; i++) {
			c = i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			crctab[i] = c;
		}
	}
	crc = ~crc;
	while (n--)
		crc = crctab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static u32 le32(const u8 *p)
{
	return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

/* Skips a NUL-terminated header field; 0 if it runs off the end. */
static int skipz(const u8 *in, ulong inlen, ulong *pos)
{
	while (*pos < inlen)
		if (in[(*pos)++] == 0)
			return 1;
	return 0;
}

int gunzip(const u8 *in, ulong inlen, u8 *out, ulong cap, ulong *outlen,
    const char **err)
{
	struct inflate s;
	ulong pos = 0;

	memset(&s, 0, sizeof s);
	s.out = out;
	s.cap = cap;
	*err = 0;
	do {
		u8 flg;
		ulong start = s.outpos;
		if (inlen - pos < 18 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
			*err = "bad gzip header";
			return -1;
		}
		if (in[pos + 2] != 8) {
			*err = "unknown compression method";
			return -1;
		}
		flg = in[pos + 3];
		if (flg & 0xe0) {
			*err = "reserved header flags set";
			return -1;
		}
		pos += 10;
		if (flg & 4) {	/* FEXTRA */
			ulong xlen;
			if (inlen - pos < 2) {
				*err = "truncated gzip header";
				return -1;
			}
			xlen = in[pos] | (ulong)in[pos + 1] << 8;
			pos += 2;
			if (inlen - pos < xlen) {
				*err = "truncated gzip header";
				return -1;
			}
			pos += xlen;
		}
		if (((flg & 8) && !skipz(in, inlen, &pos)) ||	/* FNAME */
		    ((flg & 16) && !skipz(in, inlen, &pos))) {	/* FCOMMENT */
			*err = "truncated gzip header";
			return -1;
		}
		if (flg & 2) {	/* FHCRC */
			if (inlen - pos < 2) {
				*err = "truncated gzip header";
				return -1;
			}
			pos += 2;
		}
		s.in = in;
		s.inlen = inlen;
		s.inpos = pos;
		inflate(&s);
		if (s.err) {
			*err = s.err;
			return -1;
		}
		pos = s.inpos;
		if (inlen - pos < 8) {
			*err = "truncated gzip trailer";
			return -1;
		}
		if (le32(in + pos) != crc32_update(0, out + start, s.outpos - start)) {
			*err = "CRC-32 mismatch";
			return -1;
		}
		if (le32(in + pos + 4) != (u32)(s.outpos - start)) {
			*err = "ISIZE mismatch";
			return -1;
		}
		pos += 8;
		/* Zero padding after a member is allowed; another member may follow. */
		while (pos < inlen && in[pos] == 0)
			pos++;
	} while (pos < inlen);
	*outlen = s.outpos;
	return 0;
}
