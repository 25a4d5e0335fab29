/* SPDX-License-Identifier: Apache-2.0 */
/* Finding pods' and containers' cgroups under the cgroup2 mount (kubelet layouts). */
#ifndef PODFENCE_CGROUP_H
#define PODFENCE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/abi.h"
#include "podfence/pod.h"

/* cgroup2 mount point from /proc/self/mountinfo (or the given mountinfo file). */
int pf_cgroup2_mount(char *buf, size_t len);
int pf_cgroup2_mount_from(const char *mountinfo_path, char *buf, size_t len);

/* cgroup id of a cgroup2 directory (its inode number); negative errno on error. */
int pf_cgroup_id(const char *dir, uint64_t *id);

/* The path of a cgroup from its id (under the cgroup2 mount root); -ENOENT once removed. */
int pf_cgroup_path_by_id(const char *root, uint64_t id, char *buf, size_t len);

/*
 * Names kubelet gives the pod's cgroup directory under each driver, e.g.
 * "kubepods-burstable-pod<uid_>.slice" (systemd) and "pod<uid>" (cgroupfs).
 */
int pf_cgroup_pod_dirname(const struct pf_pod *pod, int systemd, char *buf, size_t len);

/*
 * Finds the pod's cgroup directory under root: tries each QoS parent of both
 * drivers, also below nested prefixes (kubelet.slice/..., kind): the search
 * looks for the pod directory name at any depth up to 4 under root.
 * Returns 0 and the absolute path in buf, -ENOENT if it does not exist (yet).
 */
int pf_cgroup_find_pod(const char *root, const struct pf_pod *pod, char *buf, size_t len);

/*
 * Finds a container's cgroup directory under a pod directory: a child named
 * after the container id in any runtime's layout ("cri-containerd-<id>.scope",
 * "crio-<id>.scope", "crio-<id>", "docker-<id>.scope", "<id>").
 * Returns 0 and the path in buf, -ENOENT when absent or the id is unknown.
 */
int pf_cgroup_find_container(const char *pod_dir, const struct pf_container *c, char *buf,
			     size_t len);

/*
 * Calls fn for dir and every cgroup directory below it, pre-order, with the
 * directory open as dirfd (valid during the call) and a path that may be
 * longer than PATH_MAX. Stops and returns fn's value when it is non-zero.
 * Visits PF_MAX_CG_LEVELS levels below dir: -ELOOP after the walk when the
 * tree goes deeper (the kernel then binds the rest through their ancestors).
 */
int pf_cgroup_walk(const char *dir, int (*fn)(const char *path, int dirfd, uint64_t id, void *ctx),
		   void *ctx);

/*
 * The names the kubelet may give the pod's cgroup directory, whatever the
 * driver and slice prefix found under root (the QoS class is the pod's):
 * what the kernel binds at creation for a pod known before its cgroup.
 * Returns the count (<= max).
 */
int pf_cgroup_pod_expected_names(const struct pf_pod *pod, const char *root,
				 char names[][PF_CG_NAME_MAX], size_t max);

/*
 * The names a runtime may give the cgroup of container `id` (systemd: 1
 * for the systemd driver's, 0 for cgroupfs', -1 for both). Returns how many.
 */
int pf_cgroup_container_names(const char *id, int systemd, char names[][PF_CG_NAME_MAX],
			      size_t max);
/*
 * The container id in a container cgroup's directory name (name_len bytes),
 * whichever runtime's layout; -ENOENT when it names none.
 */
int pf_cgroup_container_id(const char *name, size_t name_len, char *id, size_t id_len);

/* Whether processes run in the cgroup or below it (cgroup.events); true when unknown. */
bool pf_cgroup_populated(const char *dir);

/*
 * The nsfs inode of the mount namespace of the cgroup's oldest process (its
 * container's first), 0 when the cgroup has none: the anchor hint for a
 * cgroup bound while it runs.
 */
uint32_t pf_cgroup_mntns_hint(int cgroup_dirfd);

#endif /* PODFENCE_CGROUP_H */
