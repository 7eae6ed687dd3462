/*
 * tests/unit/support/listen — see listen.h.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct evconnlistener *
tg_test_listen(struct event_base *base, evconnlistener_cb cb, void *arg,
    unsigned *port)
{
	struct evconnlistener *l;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, cb, arg,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL || getsockname(evconnlistener_get_fd(l),
	    (struct sockaddr *)&sin, &len) != 0) {
		fprintf(stderr, "tg_test_listen: cannot listen on 127.0.0.1\n");
		abort();
	}
	*port = ntohs(sin.sin_port);
	return l;
}
