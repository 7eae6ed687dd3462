/*
 * net/http_int — what the files of net/http share; not for other modules.
 *
 * http.c        the server: MHD on the loop, connections, routes, replies
 * http_certs.c  certificate sets (GnuTLS pcerts and keys per host name)
 */
#ifndef TG_NET_HTTP_INT_H
#define TG_NET_HTTP_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "net/http.h"

/*
 * The chain and key for name (exact, already lower case, no trailing
 * dot), borrowed from cs: valid while the caller holds a reference to
 * cs. Returns 0, or -1 when cs has no certificate for name.
 */
int tg_http_certs_find(struct tg_http_certs *cs, const char *name,
    gnutls_pcert_st **pcerts, unsigned *npcerts, gnutls_privkey_t *key);

#endif
