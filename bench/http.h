/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The little HTTP/1.x the reference workload speaks: enough for the server to
 * answer wrk, ab and epbatch-load, and for epbatch-load to check every answer.
 * Both parsers work on a buffer that may hold a partial message and say how
 * many bytes one complete message takes, so callers can keep reading.
 */
#ifndef EPBATCH_BENCH_HTTP_H
#define EPBATCH_BENCH_HTTP_H

#include <stddef.h>

/* Largest request or response header block either side accepts. */
#define HTTP_MAX_HEADER 4096
/* No answer of the server's (http_response, http_bad_request) is longer. */
#define HTTP_MAX_RESPONSE 256

struct http_msg {
	int status;		/* responses: the status code */
	int keep_alive;		/* the connection may carry another message */
	size_t length;		/* bytes of the whole message: headers + body */
};

/*
 * Parse the request at the start of BUF.  Returns 1 and fills MSG when a
 * whole request (headers and any Content-Length body) is there, 0 when more
 * bytes are needed, -1 when it is not a request we can answer (malformed,
 * chunked body, headers larger than HTTP_MAX_HEADER).
 * keep_alive follows HTTP/1.1 (on unless "Connection: close") and
 * HTTP/1.0 (off unless "Connection: keep-alive").
 */
int http_parse_request(const char *buf, size_t len, struct http_msg *msg);

/*
 * Parse the response at the start of BUF, same return convention.  A
 * response must carry Content-Length (the server always sends it); one
 * without it is invalid for epbatch-load.
 */
int http_parse_response(const char *buf, size_t len, struct http_msg *msg);

/* The server's fixed answer, keep-alive or closing variant; LEN gets its size. */
const char *http_response(int keep_alive, size_t *len);

/* The server's answer to a request it cannot parse (the connection then closes). */
const char *http_bad_request(size_t *len);

#endif
