// SPDX-License-Identifier: Apache-2.0
/*
 * pf_connect tcp|udp ADDR PORT: a TCP connect, or a UDP sendto on an
 * unconnected socket, to ADDR (IPv4 or IPv6) and PORT. Prints "ok" or the
 * errno's name and exits 0 when the call went through podfence (success, or
 * refused by the peer or the network), 1 when refused with EPERM or EACCES
 * (podfence's verdicts), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {};
	struct timeval tv = {.tv_sec = 2};
	socklen_t len;
	int udp, fd, rc;

	if (argc != 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp"))) {
		fprintf(stderr, "usage: pf_connect tcp|udp ADDR PORT\n");
		return 2;
	}
	udp = !strcmp(argv[1], "udp");
	if (strchr(argv[2], ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(atoi(argv[3]));
		if (inet_pton(AF_INET6, argv[2], &s6->sin6_addr) != 1)
			return 2;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(atoi(argv[3]));
		if (inet_pton(AF_INET, argv[2], &s4->sin_addr) != 1)
			return 2;
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0) {
		printf("socket: %s\n", strerror(errno));
		return errno == EPERM || errno == EACCES ? 1 : 2;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (udp)
		rc = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0 ? -1 : 0;
	else
		rc = connect(fd, (struct sockaddr *)&ss, len);
	if (!rc) {
		printf("ok\n");
		return 0;
	}
	printf("%s\n", errno == EPERM ? "EPERM" : errno == EACCES ? "EACCES" : strerror(errno));
	return errno == EPERM || errno == EACCES ? 1 : 0;
}
