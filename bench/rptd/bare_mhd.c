/*
 * bench/rptd/bare_mhd — the reference: libmicrohttpd alone, HTTPS with
 * the same certificate as rptd, one polling thread (as net/http runs it),
 * accepting any POST and discarding its body with 201. What rptd costs
 * beyond it is everything tlsgate does with a report.
 *
 *   bare_mhd ADDR PORT CERT_PEM KEY_PEM
 * Runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = calloc(1, (size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	return p;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0;	/* discarded */
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(8, (void *)"stored\r\n",
	    MHD_RESPMEM_PERSISTENT);
	rc = MHD_queue_response(c, 201, r);
	MHD_destroy_response(r);
	return rc;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct MHD_Daemon *d;
	char *cert, *key;

	if (argc != 5) {
		fprintf(stderr, "usage: bare_mhd ADDR PORT CERT KEY\n");
		return 2;
	}
	cert = slurp(argv[3]);
	key = slurp(argv[4]);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sin.sin_addr);
	d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TLS, 0,
	    NULL, NULL, handle, NULL, MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sin, MHD_OPTION_CONNECTION_LIMIT, 1024u,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bare_mhd: cannot start\n");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	free(cert);
	free(key);
	return 0;
}
