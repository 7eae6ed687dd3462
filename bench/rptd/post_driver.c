/*
 * bench/rptd/post_driver — POST many distinct TLS-RPT reports to an HTTPS
 * collector with a fixed number of concurrent connections (libcurl
 * multi, keep-alive), and say how many a second were answered 2xx.
 *
 *   post_driver URL CAFILE RESOLVE N CONCURRENCY GZIP_KB PREFIX [SOURCES]
 *
 * SOURCES (default 1) spreads the connections over that many source
 * addresses 127.0.0.2, 127.0.0.3, ... (every 127/8 address is the
 * loopback's), as many senders would be: a collector's per-address
 * connection limit is then not what is measured.
 * RESOLVE is a CURLOPT_RESOLVE entry ("name:port:addr"). The bodies are
 * made before the clock starts: RFC 8460 report JSON for receiver.example
 * with enough failure details (varied addresses and counts) that each
 * gzip is about GZIP_KB KiB, every report-id distinct (PREFIX-i), sent as
 * application/tlsrpt+gzip. Output, one line:
 *   sent=N ok=N seconds=S rate=R avg_gzip=B codes=201:N,...
 */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

struct body {
	unsigned char *data;
	size_t len;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
json_report(char *out, size_t cap, const char *prefix, int i, int details,
    unsigned *seed)
{
	size_t n = 0;
	int k;

	n += (size_t)snprintf(out + n, cap - n, "{\"organization-name\":"
	    "\"Bench Sender %d\",\"date-range\":{\"start-datetime\":"
	    "\"2024-05-01T00:00:00Z\",\"end-datetime\":"
	    "\"2024-05-01T23:59:59Z\"},"
	    "\"contact-info\":\"tlsrpt@sender%d.example\",\"report-id\":"
	    "\"%s-%d\",\"policies\":[{\"policy\":{\"policy-type\":\"sts\","
	    "\"policy-string\":[\"version: STSv1\",\"mode: enforce\","
	    "\"mx: mx1.receiver.example\",\"max_age: 86400\"],"
	    "\"policy-domain\":\"receiver.example\",\"mx-host\":"
	    "[\"mx1.receiver.example\"]},\"summary\":{"
	    "\"total-successful-session-count\":%u,"
	    "\"total-failure-session-count\":%d},\"failure-details\":[",
	    i % 50, i % 50, prefix, i, rand_r(seed) % 100000, details);
	for (k = 0; k < details && n + 512 < cap; k++)
		n += (size_t)snprintf(out + n, cap - n, "%s{\"result-type\":"
		    "\"certificate-expired\",\"sending-mta-ip\":"
		    "\"198.51.%u.%u\",\"receiving-mx-hostname\":"
		    "\"mx%u.receiver.example\",\"receiving-ip\":"
		    "\"203.0.%u.%u\","
		    "\"failed-session-count\":1,\"failure-reason-code\":"
		    "\"code-%08x\"}", k > 0 ? "," : "", rand_r(seed) % 256,
		    rand_r(seed) % 256, rand_r(seed) % 9, rand_r(seed) % 256,
		    rand_r(seed) % 256, rand_r(seed));
	n += (size_t)snprintf(out + n, cap - n, "]}]}");
	return n;
}

static int
gzip_body(const char *in, size_t len, struct body *b)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	b->data = malloc(deflateBound(&z, len));
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = b->data;
	z.avail_out = (uInt)deflateBound(&z, len);
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		return -1;
	b->len = z.total_out;
	deflateEnd(&z);
	return 0;
}

/* Bodies of about kb KiB of gzip: find the detail count once. */
static struct body *
make_bodies(int n, int kb, const char *prefix, size_t *avg)
{
	static char json[4 << 20];
	struct body *v = calloc((size_t)n, sizeof(*v)), probe;
	unsigned seed = 12345;
	int details = 10, i;
	size_t total = 0;

	for (;;) {
		gzip_body(json, json_report(json, sizeof(json), prefix, 0,
		    details, &seed), &probe);
		free(probe.data);
		if (probe.len >= (size_t)kb * 1024 || details >= 900)
			break;
		details += 10;
	}
	for (i = 0; i < n; i++) {
		gzip_body(json, json_report(json, sizeof(json), prefix, i,
		    details, &seed), &v[i]);
		total += v[i].len;
	}
	*avg = total / (size_t)n;
	return v;
}

static size_t
discard(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

struct run {
	CURLM *m;
	struct body *bodies;
	struct curl_slist *hdr, *resolve;
	const char *url, *ca;
	int next, n, done, ok, sources;
	long codes[600];
};

static void
start_one(struct run *r, CURL *e)
{
	struct body *b = &r->bodies[r->next];
	char src[32];

	snprintf(src, sizeof(src), "127.0.0.%d", 2 + r->next % r->sources);
	r->next++;
	if (r->sources > 1)
		curl_easy_setopt(e, CURLOPT_INTERFACE, src);

	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_CAINFO, r->ca);
	curl_easy_setopt(e, CURLOPT_RESOLVE, r->resolve);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdr);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
	curl_multi_add_handle(r->m, e);
}

static void
finish_one(struct run *r, CURLMsg *msg)
{
	CURL *e = msg->easy_handle;
	long code = 0;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	r->done++;
	if (msg->data.result == CURLE_OK && code >= 200 && code < 300)
		r->ok++;
	r->codes[code >= 0 && code < 600 ? code : 0]++;
	curl_multi_remove_handle(r->m, e);
	if (r->next < r->n)
		start_one(r, e);
	else
		curl_easy_cleanup(e);
}

int
main(int argc, char **argv)
{
	struct run r;
	size_t avg;
	double t0, t1;
	int c, i, running, left;
	CURLMsg *msg;

	if (argc != 8 && argc != 9) {
		fprintf(stderr, "usage: post_driver URL CAFILE RESOLVE N "
		    "CONCURRENCY GZIP_KB PREFIX [SOURCES]\n");
		return 2;
	}
	memset(&r, 0, sizeof(r));
	r.url = argv[1];
	r.ca = argv[2];
	r.n = atoi(argv[4]);
	r.sources = argc == 9 && atoi(argv[8]) > 0 ? atoi(argv[8]) : 1;
	c = atoi(argv[5]);
	r.bodies = make_bodies(r.n, atoi(argv[6]), argv[7], &avg);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r.m = curl_multi_init();
	curl_multi_setopt(r.m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c);
	r.hdr = curl_slist_append(NULL,
	    "Content-Type: application/tlsrpt+gzip");
	r.hdr = curl_slist_append(r.hdr, "Expect:");
	r.resolve = curl_slist_append(NULL, argv[3]);
	t0 = now_s();
	for (i = 0; i < c && r.next < r.n; i++)
		start_one(&r, curl_easy_init());
	do {
		curl_multi_perform(r.m, &running);
		while ((msg = curl_multi_info_read(r.m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				finish_one(&r, msg);
		if (r.done < r.n)
			curl_multi_poll(r.m, NULL, 0, 100, NULL);
	} while (r.done < r.n);
	t1 = now_s();
	printf("sent=%d ok=%d seconds=%.3f rate=%.1f avg_gzip=%zu codes=",
	    r.n, r.ok, t1 - t0, r.ok / (t1 - t0), avg);
	for (i = 0, c = 0; i < 600; i++)
		if (r.codes[i] > 0)
			printf("%s%d:%ld", c++ ? "," : "", i, r.codes[i]);
	printf("\n");
	return r.ok == r.n ? 0 : 1;
}
