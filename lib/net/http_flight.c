/*
 * net/http_flight — how the HTTPS server's TLS records reach the socket
 * (see http_int.h).
 *
 * GnuTLS writes a TLS 1.3 server flight in two pushes when the client
 * asks for middlebox compatibility (RFC 8446 §D.4, as OpenSSL and the
 * browsers do): ServerHello with the ChangeCipherSpec, then
 * EncryptedExtensions .. Finished. After the client's Finished it pushes
 * the NewSessionTicket messages on their own, and the HTTP reply follows
 * a moment later. Each push is a TCP segment and, for a client that is
 * waiting, a wake-up with nothing it can use yet. This push function
 * marks the pushes that are known to be followed at once by more of the
 * same flight with MSG_MORE, so the kernel sends them with what follows:
 *
 *   - the push whose last handshake message is a TLS 1.3 ServerHello:
 *     GnuTLS goes on to EncryptedExtensions .. Finished in the same
 *     gnutls_handshake call (a HelloRetryRequest is another message
 *     type and is pushed as it is: the client must answer it);
 *   - the first push of a TLS 1.3 connection's session tickets: the
 *     reply to the request that came with the client's Finished goes
 *     with them. A client that sends no request leaves them waiting no
 *     longer than the kernel's cork limit (200 ms), or until the close.
 *
 * Nothing else is held back, and nothing changes on the wire but the
 * segment boundaries. Alerts and every other record are pushed as they
 * come.
 */
#include <sys/socket.h>

#include "net/http_int.h"

static int
http_flight_continues(struct http_conn *c)
{
	int last;

	if (gnutls_protocol_get_version(c->tls) != GNUTLS_TLS1_3)
		return 0;
	last = gnutls_handshake_get_last_out(c->tls);
	if (last == GNUTLS_HANDSHAKE_SERVER_HELLO)
		return 1;
	if (last == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET &&
	    !c->tickets_pushed) {
		c->tickets_pushed = 1;
		return 1;
	}
	return 0;
}

/* GnuTLS's vec push function: sendmsg, as GnuTLS's own, plus MSG_MORE. */
static ssize_t
http_flight_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct http_conn *c = ptr;
	struct msghdr msg = { 0 };
	int flags = MSG_NOSIGNAL;

	if (http_flight_continues(c))
		flags |= MSG_MORE;
	msg.msg_iov = (struct iovec *)(uintptr_t)iov;
	msg.msg_iovlen = (size_t)iovcnt;
	return sendmsg(c->fd, &msg, flags);
}

void
http_flight_init(struct http_conn *c, gnutls_session_t tls)
{
	c->tls = tls;
	/* GnuTLS's default pull reads the descriptor in the receive
	 * pointer; the send pointer becomes the connection. c outlives the
	 * session: MHD frees the session before it reports the close. */
	gnutls_transport_set_ptr2(tls, (gnutls_transport_ptr_t)(intptr_t)c->fd,
	    c);
	gnutls_transport_set_vec_push_function(tls, http_flight_push);
}

