/*
 * A strict JSON reader (RFC 8259) for the canonical json.cfg: one value,
 * strings decoded (escapes, \u with surrogate pairs) and checked to be
 * UTF-8, duplicate keys refused. Values are a tree of kside_json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kside.h"

#define MAXDEPTH	32

struct jp {
	const char	*s, *end, *line0;
	unsigned	 line;
	char		*err;
};

static int
jerr(struct jp *p, const char *msg)
{

	snprintf(p->err, KSIDE_ERRLEN, "line %u column %u: %s", p->line,
	    (unsigned)(p->s - p->line0) + 1, msg);
	return -1;
}

static void
ws(struct jp *p)
{

	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' ||
	    *p->s == '\n' || *p->s == '\r')) {
		if (*p->s == '\n') {
			p->line++;
			p->line0 = p->s + 1;
		}
		p->s++;
	}
}

static struct kside_json *
newval(struct jp *p, enum kside_jtype t)
{
	struct kside_json *v;

	if ((v = calloc(1, sizeof *v)) == NULL) {
		jerr(p, "out of memory");
		return NULL;
	}
	v->type = t;
	v->line = p->line;
	v->col = (unsigned)(p->s - p->line0) + 1;
	return v;
}

void
kside_json_free(struct kside_json *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->len && v->items != NULL; i++) {
		kside_json_free(v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static int
hex4(const char *s, unsigned *u)
{
	int i;

	*u = 0;
	for (i = 0; i < 4; i++) {
		char c = s[i];

		*u <<= 4;
		if (c >= '0' && c <= '9')
			*u |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*u |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*u |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static char *
pututf8(char *o, unsigned u)
{

	if (u < 0x80) {
		*o++ = (char)u;
	} else if (u < 0x800) {
		*o++ = (char)(0xc0 | u >> 6);
		*o++ = (char)(0x80 | (u & 0x3f));
	} else if (u < 0x10000) {
		*o++ = (char)(0xe0 | u >> 12);
		*o++ = (char)(0x80 | (u >> 6 & 0x3f));
		*o++ = (char)(0x80 | (u & 0x3f));
	} else {
		*o++ = (char)(0xf0 | u >> 18);
		*o++ = (char)(0x80 | (u >> 12 & 0x3f));
		*o++ = (char)(0x80 | (u >> 6 & 0x3f));
		*o++ = (char)(0x80 | (u & 0x3f));
	}
	return o;
}

/* utf8len returns the length of the UTF-8 sequence at s, or 0. */
static size_t
utf8len(const unsigned char *s, const unsigned char *end)
{
	unsigned u;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		u = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		u = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		u = s[0] & 0x07;
	} else
		return 0;
	if ((size_t)(end - s) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		u = u << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (u < 0x800 || (u >= 0xd800 && u <= 0xdfff))) ||
	    (n == 4 && (u < 0x10000 || u > 0x10ffff)))
		return 0;
	return n;
}

/* string reads a string at p->s (the opening quote) into *out. */
static int
string(struct jp *p, char **out, size_t *outlen)
{
	const char *s = p->s + 1;
	char *buf, *o;
	unsigned u, lo;
	size_t n;

	/* Decoded text is never longer than the source. */
	for (n = 0; s + n < p->end && s[n] != '"'; n++)
		if (s[n] == '\\' && s + n + 1 < p->end)
			n++;
	if ((buf = malloc(n + 1)) == NULL)
		return jerr(p, "out of memory");
	o = buf;
	p->s++;
	for (;;) {
		if (p->s >= p->end) {
			free(buf);
			return jerr(p, "unterminated string");
		}
		if (*p->s == '"')
			break;
		if ((unsigned char)*p->s < 0x20) {
			free(buf);
			return jerr(p, "control character in a string "
			    "(write it as an escape)");
		}
		if (*p->s != '\\') {
			n = utf8len((const unsigned char *)p->s,
			    (const unsigned char *)p->end);
			if (n == 0) {
				free(buf);
				return jerr(p, "invalid UTF-8");
			}
			memcpy(o, p->s, n);
			o += n;
			p->s += n;
			continue;
		}
		if (p->s + 1 >= p->end) {
			free(buf);
			return jerr(p, "unterminated string");
		}
		switch (p->s[1]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (p->end - p->s < 6 || hex4(p->s + 2, &u) != 0) {
				free(buf);
				return jerr(p, "bad \\u escape");
			}
			if (u >= 0xdc00 && u <= 0xdfff) {
				free(buf);
				return jerr(p, "lone low surrogate in a \\u "
				    "escape");
			}
			if (u >= 0xd800 && u <= 0xdbff) {
				if (p->end - p->s < 12 || p->s[6] != '\\' ||
				    p->s[7] != 'u' ||
				    hex4(p->s + 8, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					free(buf);
					return jerr(p, "high surrogate without "
					    "a low one in a \\u escape");
				}
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
				p->s += 6;
			}
			if (u == 0) {
				free(buf);
				return jerr(p, "\\u0000: a NUL cannot reach "
				    "a program");
			}
			o = pututf8(o, u);
			p->s += 4;
			break;
		default:
			free(buf);
			return jerr(p, "bad escape");
		}
		p->s += 2;
	}
	p->s++;
	*o = '\0';
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;
}

static int
digits(struct jp *p)
{
	const char *s = p->s;

	while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
		p->s++;
	return p->s > s;
}

static struct kside_json *value(struct jp *, int);

static int
additem(struct jp *p, struct kside_json *v, char *key, struct kside_json *it)
{
	struct kside_json **items;
	char **keys;

	items = realloc(v->items, (v->len + 1) * sizeof *items);
	if (items == NULL)
		return jerr(p, "out of memory");
	v->items = items;
	if (v->type == KJ_OBJECT) {
		keys = realloc(v->keys, (v->len + 1) * sizeof *keys);
		if (keys == NULL)
			return jerr(p, "out of memory");
		v->keys = keys;
		v->keys[v->len] = key;
	}
	v->items[v->len++] = it;
	return 0;
}

static struct kside_json *
compound(struct jp *p, int depth, enum kside_jtype t)
{
	struct kside_json *v, *it;
	char close = t == KJ_OBJECT ? '}' : ']';
	char *key = NULL, msg[80];
	const char *ks;
	size_t klen, i;

	if (depth >= MAXDEPTH) {
		jerr(p, "nested too deeply");
		return NULL;
	}
	if ((v = newval(p, t)) == NULL)
		return NULL;
	p->s++;
	ws(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		return v;
	}
	for (;;) {
		ws(p);
		key = NULL;
		if (t == KJ_OBJECT) {
			if (p->s >= p->end || *p->s != '"') {
				jerr(p, "expected a string key");
				goto bad;
			}
			ks = p->s;
			if (string(p, &key, &klen) != 0)
				goto bad;
			if (strlen(key) != klen) {
				free(key);
				jerr(p, "NUL in a key");
				goto bad;
			}
			for (i = 0; i < v->len; i++) {
				if (strcmp(v->keys[i], key) == 0) {
					snprintf(msg, sizeof msg, "key \"%.40s\" "
					    "given twice", key);
					free(key);
					p->s = ks;	/* point at the key */
					jerr(p, msg);
					goto bad;
				}
			}
			ws(p);
			if (p->s >= p->end || *p->s != ':') {
				free(key);
				jerr(p, "expected ':'");
				goto bad;
			}
			p->s++;
		}
		if ((it = value(p, depth + 1)) == NULL) {
			free(key);
			goto bad;
		}
		if (additem(p, v, key, it) != 0) {
			free(key);
			kside_json_free(it);
			goto bad;
		}
		ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == close) {
			p->s++;
			return v;
		}
		jerr(p, t == KJ_OBJECT ? "expected ',' or '}'" :
		    "expected ',' or ']'");
		goto bad;
	}
bad:
	kside_json_free(v);
	return NULL;
}

static struct kside_json *
value(struct jp *p, int depth)
{
	struct kside_json *v;
	const char *start;
	size_t n;

	ws(p);
	if (p->s >= p->end) {
		jerr(p, "unexpected end of input");
		return NULL;
	}
	switch (*p->s) {
	case '{':
		return compound(p, depth, KJ_OBJECT);
	case '[':
		return compound(p, depth, KJ_ARRAY);
	case '"':
		if ((v = newval(p, KJ_STRING)) == NULL)
			return NULL;
		if (string(p, &v->str, &v->len) != 0) {
			free(v);
			return NULL;
		}
		return v;
	case 't':
	case 'f':
	case 'n':
		n = *p->s == 'f' ? 5 : 4;
		if ((size_t)(p->end - p->s) < n ||
		    (strncmp(p->s, "true", 4) != 0 &&
		    strncmp(p->s, "false", 5) != 0 &&
		    strncmp(p->s, "null", 4) != 0)) {
			jerr(p, "unknown word (true, false or null?)");
			return NULL;
		}
		if ((v = newval(p, *p->s == 'n' ? KJ_NULL : KJ_BOOL)) == NULL)
			return NULL;
		v->boolean = *p->s == 't';
		p->s += n;
		return v;
	}
	if (*p->s != '-' && (*p->s < '0' || *p->s > '9')) {
		jerr(p, "unexpected character");
		return NULL;
	}
	if ((v = newval(p, KJ_NUMBER)) == NULL)
		return NULL;
	start = p->s;
	v->integral = 1;
	if (*p->s == '-')
		p->s++;
	if (p->s < p->end && *p->s == '0')
		p->s++;
	else if (!digits(p))
		goto badnum;
	if (p->s < p->end && *p->s == '.') {
		p->s++;
		v->integral = 0;
		if (!digits(p))
			goto badnum;
	}
	if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
		p->s++;
		v->integral = 0;
		if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
			p->s++;
		if (!digits(p))
			goto badnum;
	}
	{
		char num[64];

		n = (size_t)(p->s - start);
		if (n >= sizeof num)
			n = sizeof num - 1;
		memcpy(num, start, n);
		num[n] = '\0';
		v->number = strtod(num, NULL);
	}
	return v;
badnum:
	free(v);
	jerr(p, "bad number");
	return NULL;
}

/*
 * kside_json_parse reads one JSON value from s (n bytes); nothing but
 * white space may follow it. On failure it returns NULL and err says
 * where (line and column) and what.
 */
struct kside_json *
kside_json_parse(const char *s, size_t n, char *err)
{
	struct jp p;
	struct kside_json *v;

	p.s = p.line0 = s;
	p.end = s + n;
	p.line = 1;
	p.err = err;
	if ((v = value(&p, 0)) == NULL)
		return NULL;
	ws(&p);
	if (p.s < p.end) {
		jerr(&p, "text after the JSON value");
		kside_json_free(v);
		return NULL;
	}
	return v;
}
