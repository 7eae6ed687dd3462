/*
 * tests/unit/support/listen — a listener on 127.0.0.1 and a port the
 * kernel picks, for the scripted fake servers of unit tests. Any failure
 * aborts: it is a bug in the test, not a test result.
 */
#ifndef TG_TEST_LISTEN_H
#define TG_TEST_LISTEN_H

#include <event2/event.h>
#include <event2/listener.h>

/* A listener on base calling cb(arg) per connection; *port gets its port.
 * evconnlistener_free. */
struct evconnlistener *tg_test_listen(struct event_base *base,
    evconnlistener_cb cb, void *arg, unsigned *port);

#endif
