/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Unit test of bench/http.c: what the server accepts as a request and what
 * epbatch-load accepts as a response, including partial and hostile input.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);        \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
			failures++;                                        \
		}                                                          \
	} while (0)

/* Parse S as a request; expect return R, and for R == 1 keep-alive K and
 * length LEN (-1: the whole string). */
static void req(const char *s, int r, int k, long len)
{
	struct http_msg m = { 0 };
	int got = http_parse_request(s, strlen(s), &m);

	CHECK(got == r, "request %.40s...: returned %d, expected %d", s, got, r);
	if (got == 1 && r == 1) {
		size_t want = len < 0 ? strlen(s) : (size_t)len;
		CHECK(m.keep_alive == k, "request %.40s...: keep_alive %d", s, m.keep_alive);
		CHECK(m.length == want, "request %.40s...: length %zu, expected %zu", s, m.length, want);
	}
}

static void resp(const char *s, int r, int status, int k)
{
	struct http_msg m = { 0 };
	int got = http_parse_response(s, strlen(s), &m);

	CHECK(got == r, "response %.40s...: returned %d, expected %d", s, got, r);
	if (got == 1 && r == 1) {
		CHECK(m.status == status, "response %.40s...: status %d", s, m.status);
		CHECK(m.keep_alive == k, "response %.40s...: keep_alive %d", s, m.keep_alive);
		CHECK(m.length == strlen(s), "response %.40s...: length %zu", s, m.length);
	}
}

static void test_requests(void)
{
	/* HTTP/1.1 keeps alive unless told; HTTP/1.0 closes unless told. */
	req("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, 1, -1);
	req("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1, 0, -1);
	req("GET / HTTP/1.1\r\nconnection:   Close  \r\n\r\n", 1, 0, -1);
	req("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n", 1, 1, -1);
	req("GET / HTTP/1.0\r\n\r\n", 1, 0, -1);
	req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1, 1, -1);
	/* wrk's and ab's exact requests */
	req("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 1, 1, -1);
	req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: 127.0.0.1:8080\r\n"
	    "User-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n", 1, 1, -1);
	/* A body is part of the request; the next request starts after it. */
	req("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", 1, 1, 44);
	req("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel", 0, 0, 0);
	/* Pipelined: only the first counts. */
	req("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 1, 1, 19);
	/* Partial at every cut point is "need more", never an error. */
	{
		const char *full = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
		struct http_msg m;
		for (size_t i = 0; i < strlen(full); i++)
			CHECK(http_parse_request(full, i, &m) == 0, "prefix of %zu bytes not partial", i);
	}
	/* Invalid */
	req("get / HTTP/1.1\r\n\r\n", -1, 0, 0);
	req("GET / HTTP/2.0\r\n\r\n", -1, 0, 0);
	req("GET /\r\n\r\n", -1, 0, 0);
	req(" / HTTP/1.1\r\n\r\n", -1, 0, 0);
	req("GET / HTTP/1.1\r\nNoColon\r\n\r\n", -1, 0, 0);
	req("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", -1, 0, 0);
	req("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -1, 0, 0);
	req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -1, 0, 0);
	/* A header block that never ends is refused at HTTP_MAX_HEADER. */
	{
		static char big[HTTP_MAX_HEADER + 10];
		struct http_msg m;
		memset(big, 'a', sizeof(big));
		memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
		CHECK(http_parse_request(big, HTTP_MAX_HEADER - 1, &m) == 0, "big header: not partial yet");
		CHECK(http_parse_request(big, HTTP_MAX_HEADER, &m) == -1, "big header not refused");
	}
}

static void test_responses(void)
{
	size_t len;
	const char *s;

	/* The server's own answers parse back as what they claim to be. */
	s = http_response(1, &len);
	CHECK(len == strlen(s) && len <= HTTP_MAX_RESPONSE, "keep-alive response length");
	resp(s, 1, 200, 1);
	s = http_response(0, &len);
	CHECK(len <= HTTP_MAX_RESPONSE, "close response length");
	resp(s, 1, 200, 0);
	s = http_bad_request(&len);
	CHECK(len <= HTTP_MAX_RESPONSE, "400 length");
	resp(s, 1, 400, 0);

	resp("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 1, 204, 1);
	resp("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 1, 200, 0);
	resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok", 0, 0, 0);
	resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 1, 200, 1);
	/* Without Content-Length the end is unknowable: invalid for the load. */
	resp("HTTP/1.1 200 OK\r\n\r\nok", -1, 0, 0);
	resp("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", -1, 0, 0);
	resp("HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n", -1, 0, 0);
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", -1, 0, 0);
	resp("SSH-2.0-OpenSSH\r\n\r\n", -1, 0, 0);
}

int main(void)
{
	test_requests();
	test_responses();
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	printf("all http checks passed\n");
	return 0;
}
