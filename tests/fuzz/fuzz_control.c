// SPDX-License-Identifier: Apache-2.0
/*
 * The control socket's request reader: whatever a local client sends, in
 * whatever pieces it arrives. The input is a sequence of records
 * <length byte><bytes>, each sent as one SOCK_SEQPACKET packet so that every
 * read() of pf_control_read_request() sees exactly one piece; the peer then
 * hangs up. The request then goes through the agent's dispatch (strcmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "fuzz.h"
#include "podfence/control.h"

/* The agent's request buffer (src/agent/agent.c, handle_client). */
#define REQ_LEN 256

static void send_pieces(int fd, const uint8_t *data, size_t size)
{
	while (size) {
		size_t n = data[0] < size - 1 ? data[0] : size - 1;

		/* A full socket buffer ends the request early: the reader must cope. */
		if (n && send(fd, data + 1, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
		data += 1 + n;
		size -= 1 + n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char req[REQ_LEN];
	int sv[2], err;

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	send_pieces(sv[1], data, size);
	close(sv[1]);
	memset(req, 0xa5, sizeof(req)); /* no NUL to lean on */
	err = pf_control_read_request(sv[0], req, sizeof(req));
	close(sv[0]);
	FUZZ_CHECK(err == 0);
	FUZZ_CHECK(strnlen(req, sizeof(req)) < sizeof(req));
	FUZZ_CHECK(!strpbrk(req, "\r\n"));
	if (strcmp(req, "status") == 0)
		FUZZ_CHECK(size >= 7);
	return 0;
}
