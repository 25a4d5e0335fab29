// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "podfence/control.h"

static int socket_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static void mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
}

int pf_control_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, err;

	err = socket_addr(path, &sa);
	if (err)
		return err;
	mkdir_parent(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a previous agent's socket (it is gone, or we replace it) */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	chmod(path, 0600);
	return fd;
}

int pf_control_read_request(int fd, char *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r;

		if (poll(&p, 1, 1000) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + n, len - 1 - n);
		if (r <= 0)
			break;
		n += r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

int pf_control_write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = {.fd = fd, .events = POLLOUT};

				if (poll(&p, 1, 1000) <= 0)
					return -ETIMEDOUT;
				continue;
			}
			return -errno;
		}
		s += w;
		len -= w;
	}
	return 0;
}

int pf_control_request(const char *path, const char *cmd, char **reply)
{
	struct sockaddr_un sa;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int fd, err;

	*reply = NULL;
	err = socket_addr(path, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto out;
	}
	err = pf_control_write_all(fd, cmd, strlen(cmd));
	if (!err)
		err = pf_control_write_all(fd, "\n", 1);
	if (err)
		goto out;
	for (;;) {
		ssize_t r;

		if (n + 4096 > cap) {
			char *b = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!b) {
				err = -ENOMEM;
				goto out;
			}
			buf = b;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = 0;
	*reply = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}
