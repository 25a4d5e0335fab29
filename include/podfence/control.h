/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's control socket: one request line in, one JSON document out. */
#ifndef PODFENCE_CONTROL_H
#define PODFENCE_CONTROL_H

#define PF_SOCKET_DEFAULT "/run/podfence/podfence.sock"

/* Listening socket (replaces a stale socket file); returns the fd or -errno. */
int pf_control_listen(const char *path);
/* Reads one request line from an accepted connection (bounded wait). */
int pf_control_read_request(int fd, char *buf, size_t len);
int pf_control_write_all(int fd, const char *s, size_t len);
/* Client: sends cmd, returns the malloc'ed reply. */
int pf_control_request(const char *path, const char *cmd, char **reply);

#endif /* PODFENCE_CONTROL_H */
