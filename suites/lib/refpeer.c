// SPDX-License-Identifier: GPL-2.0
/*
 * NEW_TCP reference peer over plain TCP: see refpeer.h.  Every rule here
 * cites the PROTOCOL.md passage it implements; where the document leaves
 * a choice open the choice is named "spec silent".
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "ntcp.h"
#include "refpeer.h"

uint8_t refpeer_wire_type(int sock_type)
{
	switch (sock_type) {
	case SOCK_STREAM:
		return REFPEER_TYPE_STREAM;
	case SOCK_SEQPACKET:
		return REFPEER_TYPE_SEQPACKET;
	}
	return 0;
}

struct refpeer_hello refpeer_hello(int sock_type, int reply, uint8_t status)
{
	struct refpeer_hello h = {
		.magic = REFPEER_MAGIC,
		.version = REFPEER_VERSION,
		.type = refpeer_wire_type(sock_type),
		.flags = reply ? REFPEER_FLAG_REPLY : 0,
		/* "client: 0" */
		.status = reply ? status : 0,
	};

	return h;
}

void refpeer_hello_pack(const struct refpeer_hello *h, unsigned char out[REFPEER_HELLO_LEN])
{
	uint32_t magic = htonl(h->magic);	/* multi-byte fields are big-endian */

	memcpy(out, &magic, 4);
	out[4] = h->version;
	out[5] = h->type;
	out[6] = h->flags;
	out[7] = h->status;
}

void refpeer_hello_unpack(const unsigned char in[REFPEER_HELLO_LEN], struct refpeer_hello *h)
{
	uint32_t magic;

	memcpy(&magic, in, 4);
	h->magic = ntohl(magic);
	h->version = in[4];
	h->type = in[5];
	h->flags = in[6];
	h->status = in[7];
}

/*
 * Read exactly @n bytes: 0, or an errno (ETIMEDOUT when SO_RCVTIMEO ran
 * out); *got says how many came, so EOF (0 with *got < n) is told apart.
 */
static int read_exact(int fd, void *buf, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = read(fd, (char *)buf + *got, n - *got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
		if (r == 0)
			return 0;
		*got += r;
	}
	return 0;
}

static int write_exact(int fd, const void *buf, size_t n)
{
	ssize_t r = write_full(fd, buf, n);

	if (r == (ssize_t)n)
		return 0;
	if (r >= 0)
		return EPIPE;
	return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
}

static void bound_io(int fd)
{
	struct timeval tv = {
		.tv_sec = REFPEER_TIMEOUT_MS / 1000,
		.tv_usec = (REFPEER_TIMEOUT_MS % 1000) * 1000,
	};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Close with a RST (SO_LINGER 0): PROTOCOL.md's "the connection is reset". */
static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int fail_close(int fd, int err, int reset)
{
	if (reset)
		reset_close(fd);
	else
		close(fd);
	errno = err;
	return -1;
}

int refpeer_connect_raw(uint16_t port, const unsigned char hello[REFPEER_HELLO_LEN],
			unsigned char reply[REFPEER_HELLO_LEN])
{
	int fd = ntcp_silent_peer(port), err;
	size_t got;

	if (fd < 0)
		return -1;
	bound_io(fd);
	/* Step 1: "the client sends its hello at once", nothing after it. */
	err = write_exact(fd, hello, REFPEER_HELLO_LEN);
	if (!err)
		err = read_exact(fd, reply, REFPEER_HELLO_LEN, &got);
	if (err)
		/* Spec: ECONNREFUSED for EOF/RST before a whole reply, ETIMEDOUT for silence. */
		return fail_close(fd, err == ECONNRESET ? ECONNREFUSED : err, 1);
	if (got < REFPEER_HELLO_LEN)
		return fail_close(fd, ECONNREFUSED, 1);
	return fd;
}

int refpeer_connect_hello(uint16_t port, const struct refpeer_hello *hello,
			  struct refpeer_hello *reply)
{
	unsigned char out[REFPEER_HELLO_LEN], in[REFPEER_HELLO_LEN];
	int fd;

	refpeer_hello_pack(hello, out);
	fd = refpeer_connect_raw(port, out, in);
	if (fd >= 0 && reply)
		refpeer_hello_unpack(in, reply);
	return fd;
}

int refpeer_judge_reply(const struct refpeer_hello *reply, int sock_type)
{
	/*
	 * Step 3: "requires magic, version 1, the reply bit, its own type and
	 * status 0".  Reserved flag bits: spec silent on the receiver; they are
	 * not in that list, so they are ignored.  Any non-zero status, known
	 * or not, refuses.
	 */
	if (reply->magic != REFPEER_MAGIC || reply->version != REFPEER_VERSION ||
	    !(reply->flags & REFPEER_FLAG_REPLY) ||
	    reply->type != refpeer_wire_type(sock_type) ||
	    reply->status != REFPEER_ACCEPTED)
		return ECONNREFUSED;
	return 0;
}

int refpeer_connect(uint16_t port, int sock_type, struct refpeer_hello *reply)
{
	struct refpeer_hello h = refpeer_hello(sock_type, 0, 0), r;
	int fd = refpeer_connect_hello(port, &h, &r), err;

	if (fd < 0)
		return -1;
	if (reply)
		*reply = r;
	err = refpeer_judge_reply(&r, sock_type);
	/* "the TCP connection is shut down before any user data can reach that peer" */
	if (err)
		return fail_close(fd, err, 1);
	return fd;
}

int refpeer_judge_hello(const struct refpeer_hello *hello, int sock_type)
{
	/* "wrong magic, or the reply bit set (an echo of a hello)": no answer */
	if (hello->magic != REFPEER_MAGIC || (hello->flags & REFPEER_FLAG_REPLY))
		return -1;
	/*
	 * Spec silent on the order when both version and type are wrong; the
	 * version decides what the type byte means, so it is judged first.
	 * Spec silent on the client's status byte and reserved flag bits:
	 * not judged.
	 */
	if (hello->version != REFPEER_VERSION)
		return REFPEER_BAD_VERSION;
	if (hello->type != refpeer_wire_type(sock_type))
		return REFPEER_BAD_TYPE;
	return REFPEER_ACCEPTED;
}

int refpeer_accept(int lst, int sock_type, int force_status,
		   int fin_after_refusal, struct refpeer_hello *hello)
{
	unsigned char in[REFPEER_HELLO_LEN], out[REFPEER_HELLO_LEN];
	struct refpeer_hello h, r;
	int fd = accept(lst, NULL, NULL), err, status;
	size_t got;

	if (fd < 0)
		return -1;
	bound_io(fd);
	/* Step 2: "reads exactly 8 bytes within handshake_ms" */
	err = read_exact(fd, in, sizeof(in), &got);
	if (err)
		return fail_close(fd, err, 1);
	if (got < sizeof(in))
		return fail_close(fd, ECONNRESET, 1);
	refpeer_hello_unpack(in, &h);
	if (hello)
		*hello = h;
	status = refpeer_judge_hello(&h, sock_type);
	if (status < 0)
		return fail_close(fd, EPROTO, 1);
	if (force_status >= 0)
		status = force_status;
	/*
	 * The reply: version 1 and our own type whatever the client sent
	 * (spec silent on what a refusal's version and type bytes carry).
	 */
	r = refpeer_hello(sock_type, 1, status);
	refpeer_hello_pack(&r, out);
	err = write_exact(fd, out, sizeof(out));
	if (err)
		return fail_close(fd, err, 1);
	if (status != REFPEER_ACCEPTED)
		return fail_close(fd, ECONNREFUSED, !fin_after_refusal);
	return fd;
}

int refpeer_send_record(int fd, const void *buf, uint32_t len)
{
	uint32_t hdr = htonl(len);
	int err;

	if (len > REFPEER_RECORD_LIMIT) {
		errno = EMSGSIZE;
		return -1;
	}
	err = write_exact(fd, &hdr, sizeof(hdr));
	if (!err && len)
		err = write_exact(fd, buf, len);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int refpeer_recv_record(int fd, void *buf, size_t cap, uint32_t *len)
{
	uint32_t hdr;
	size_t got;
	int err = read_exact(fd, &hdr, sizeof(hdr), &got);

	if (!err && got == 0)
		return 0;	/* "EOF between records is a clean end of stream" */
	if (!err && got < sizeof(hdr))
		err = ECONNRESET;	/* "EOF inside a record" */
	if (err)
		goto fail;
	*len = ntohl(hdr);
	if (*len > REFPEER_RECORD_LIMIT) {
		err = EPROTO;
		goto fail;
	}
	if (*len > cap) {
		err = EMSGSIZE;
		goto fail;
	}
	err = read_exact(fd, buf, *len, &got);
	if (!err && got < *len)
		err = ECONNRESET;
	if (err)
		goto fail;
	return 1;
fail:
	errno = err;
	return -1;
}
