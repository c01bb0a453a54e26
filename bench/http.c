/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Minimal HTTP/1.x request and response parsing; see http.h. */
#include "http.h"

#include <string.h>
#include <strings.h>

#define BODY "ok\n"
/* A literal and its length, for span_eq and has_token. */
#define LEN_STR(s) s, sizeof(s) - 1

static const char resp_keep[] =
	"HTTP/1.1 200 OK\r\nServer: epbatch-bench\r\nContent-Type: text/plain\r\n"
	"Content-Length: 3\r\nConnection: keep-alive\r\n\r\n" BODY;
static const char resp_close[] =
	"HTTP/1.1 200 OK\r\nServer: epbatch-bench\r\nContent-Type: text/plain\r\n"
	"Content-Length: 3\r\nConnection: close\r\n\r\n" BODY;
static const char resp_bad[] =
	"HTTP/1.1 400 Bad Request\r\nServer: epbatch-bench\r\nContent-Length: 0\r\n"
	"Connection: close\r\n\r\n";

_Static_assert(sizeof(resp_keep) <= HTTP_MAX_RESPONSE && sizeof(resp_close) <= HTTP_MAX_RESPONSE &&
	       sizeof(resp_bad) <= HTTP_MAX_RESPONSE, "HTTP_MAX_RESPONSE is too small");

const char *http_response(int keep_alive, size_t *len)
{
	*len = keep_alive ? sizeof(resp_keep) - 1 : sizeof(resp_close) - 1;
	return keep_alive ? resp_keep : resp_close;
}

const char *http_bad_request(size_t *len)
{
	*len = sizeof(resp_bad) - 1;
	return resp_bad;
}

/* Case-insensitive "does [s, s+n) equal the literal LIT". */
static int span_eq(const char *s, size_t n, const char *lit, size_t litlen)
{
	return n == litlen && strncasecmp(s, lit, n) == 0;
}

/* Trim spaces and tabs at both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * Does the comma-separated Connection value [v, v+n) contain TOKEN?
 * ("Connection: keep-alive, Upgrade" is legal.)
 */
static int has_token(const char *v, size_t n, const char *token, size_t toklen)
{
	while (n > 0) {
		const char *comma = memchr(v, ',', n);
		size_t part = comma ? (size_t)(comma - v) : n;
		const char *p = v;
		size_t pn = part;

		trim(&p, &pn);
		if (span_eq(p, pn, token, toklen))
			return 1;
		if (!comma)
			break;
		v = comma + 1;
		n -= part + 1;
	}
	return 0;
}

/* Parse a decimal Content-Length value; -1 when it is not one. */
static long parse_length(const char *v, size_t n)
{
	long x = 0;

	if (n == 0 || n > 9)	/* the bench never sends a body of 1 GB */
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

/*
 * What both parsers need from the header block, after the first line:
 * keep-alive (starting from the protocol's default), Content-Length (-1 if
 * absent) and whether Transfer-Encoding appeared.
 */
struct headers {
	int keep_alive;
	long content_length;
	int chunked;
};

/* Walk the header lines in [p, end), each ending in CRLF.  -1 if malformed. */
static int parse_headers(const char *p, const char *end, struct headers *h)
{
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		if (!eol || eol + 1 >= end || eol[1] != '\n')
			return -1;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return -1;
		const char *name = p, *val = colon + 1;
		size_t nlen = (size_t)(colon - p), vlen = (size_t)(eol - val);

		trim(&val, &vlen);
		if (span_eq(name, nlen, LEN_STR("connection"))) {
			if (has_token(val, vlen, LEN_STR("close")))
				h->keep_alive = 0;
			else if (has_token(val, vlen, LEN_STR("keep-alive")))
				h->keep_alive = 1;
		} else if (span_eq(name, nlen, LEN_STR("content-length"))) {
			long cl = parse_length(val, vlen);
			/* Two different lengths is a smuggling classic: refuse. */
			if (cl < 0 || (h->content_length >= 0 && h->content_length != cl))
				return -1;
			h->content_length = cl;
		} else if (span_eq(name, nlen, LEN_STR("transfer-encoding"))) {
			h->chunked = 1;
		}
		p = eol + 2;
	}
	return 0;
}

/*
 * Find the end of the header block.  Returns the offset just past the empty
 * line, 0 if it is not there yet, -1 if the block is already too large.
 */
static long header_end(const char *buf, size_t len)
{
	size_t scan = len < HTTP_MAX_HEADER ? len : HTTP_MAX_HEADER;
	const char *e = memmem(buf, scan, "\r\n\r\n", 4);

	if (e)
		return (long)(e - buf) + 4;
	return len >= HTTP_MAX_HEADER ? -1 : 0;
}

/* Parse "HTTP/1.x" at P (exactly 8 bytes); returns the minor version or -1. */
static int http_version(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1'))
		return -1;
	return p[7] - '0';
}

/*
 * Shared tail of both parsers: the header lines after the first line, then
 * the total length.  NEED_LENGTH: a message without Content-Length is
 * invalid (responses: without it the body ends only at EOF).
 */
static int finish(const char *line_end, const char *hdr_end, size_t len, long hlen,
		  int keep_default, int need_length, struct http_msg *msg)
{
	struct headers h = { keep_default, -1, 0 };

	/* The header lines end at hdr_end - 2: the last CRLF is the empty line. */
	if (parse_headers(line_end + 2, hdr_end - 2, &h) < 0 || h.chunked)
		return -1;
	if (need_length && h.content_length < 0)
		return -1;
	size_t total = (size_t)hlen + (size_t)(h.content_length > 0 ? h.content_length : 0);
	if (len < total)
		return 0;
	msg->keep_alive = h.keep_alive;
	msg->length = total;
	return 1;
}

int http_parse_request(const char *buf, size_t len, struct http_msg *msg)
{
	long hlen = header_end(buf, len);

	if (hlen <= 0)
		return (int)hlen;
	/* Request line: METHOD SP TARGET SP HTTP/1.x CRLF */
	const char *line_end = memmem(buf, (size_t)hlen, "\r\n", 2);
	const char *sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
	if (!sp1 || sp1 == buf)
		return -1;
	const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return -1;
	for (const char *m = buf; m < sp1; m++)
		if (*m < 'A' || *m > 'Z')
			return -1;
	int minor = http_version(sp2 + 1, (size_t)(line_end - sp2 - 1));
	if (minor < 0)
		return -1;
	msg->status = 0;
	return finish(line_end, buf + hlen, len, hlen, minor == 1, 0, msg);
}

int http_parse_response(const char *buf, size_t len, struct http_msg *msg)
{
	long hlen = header_end(buf, len);

	if (hlen <= 0)
		return (int)hlen;
	/* Status line: HTTP/1.x SP 3DIGIT SP reason CRLF */
	const char *line_end = memmem(buf, (size_t)hlen, "\r\n", 2);
	size_t llen = (size_t)(line_end - buf);
	if (llen < 12 || buf[8] != ' ' || (llen > 12 && buf[12] != ' '))
		return -1;
	int minor = http_version(buf, 8);
	if (minor < 0)
		return -1;
	int status = 0;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		status = status * 10 + (buf[i] - '0');
	}
	msg->status = status;
	return finish(line_end, buf + hlen, len, hlen, minor == 1, 1, msg);
}
