/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Resolving the path of the file being executed, as the container sees it:
 * the kernel's own file object is walked, so relative paths, "..", symlinks
 * and fd execs all resolve to the real file.
 *
 * bpf_d_path() is not allowed on tracepoints, so the walk is done by hand:
 * dentries up to the mount root, then across mount points, until the task's
 * root. Names are written backwards into a scratch buffer, so the path ends
 * at PF_PATH_BUF.
 *
 * A path only means something in the container's view: its mount namespace
 * and root. A process can choose another view (chroot, a mount namespace of
 * its own where it mounts over an allowed path, a detached mount, a file of
 * another namespace reached through /proc/<pid>/root or a passed fd), and
 * the name it resolves to there says nothing about which file it is. The
 * walk therefore also says whether the path is expressible in the task's
 * mount namespace from the namespace's own root: the task's root must be
 * that root (no chroot), and every mount crossed must belong to the
 * namespace and lead to that root. Whether the namespace is the container's
 * is decided by the caller (the anchor of the cgroup binding).
 *
 * Pseudo files (memfd, O_TMPFILE, unlinked files) read like d_path() shows
 * them: "/memfd:name (deleted)", "/tmp/x (deleted)", so an allowlist never
 * matches them unless it names them.
 */
#ifndef PF_PATH_BPF_H
#define PF_PATH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "podfence/abi.h"
#include "compat.bpf.h"

#define PF_NAME_MAX 255
/* Slack after the path so that (offset, length) pairs bounded separately are safe to the verifier.
 */
#define PF_WALK_BUF (PF_PATH_BUF + PF_NAME_MAX + 1)

enum pf_path_status {
	PF_PATH_OK = 0,
	PF_PATH_TOO_LONG = 1, /* more than PF_PATH_BUF bytes or PF_MAX_DEPTH components */
};

/* The task's view of the file system: where its paths are resolved from. */
struct pf_view {
	struct mnt_namespace *ns;   /* the task's mount namespace */
	struct dentry *root_dentry; /* the task's root */
	struct vfsmount *root_mnt;
	bool root_is_ns_root; /* no chroot: the root is the namespace's own */
};

struct pf_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	struct mnt_namespace *ns;
#ifndef PF_COMPAT
	char *buf;
#endif
	__u32 off;
	__u32 status;
	__u32 done;    /* reached a root: the path is complete */
	__u32 foreign; /* crossed a mount of another namespace, or never met the root */
};

#ifndef PF_COMPAT
#define pf_walk_buf(w) ((w)->buf)
#else
/*
 * The compat build walks with a global step (compat.bpf.h), which finds the
 * walk by scratch slot: the walk and the path it writes live in a per-CPU
 * frame, and the path is copied to the caller's buffer at the end.
 */
struct pf_walk_frame {
	struct pf_walk w;
	char buf[PF_WALK_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pf_walk_frame);
	__uint(max_entries, PF_SCRATCH_SLOTS);
} walk_frames SEC(".maps");

#define pf_walk_buf(w)                                                                             \
	(((struct pf_walk_frame *)((char *)(w) - __builtin_offsetof(struct pf_walk_frame, w)))->buf)
#endif

static __always_inline struct mount *pf_real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/*
 * A mount namespace's unique, never reused id: `seq` up to 6.17, ns.ns_id
 * from 6.18. (The nsfs inode number is reused as soon as a namespace dies:
 * a process could make a new namespace with the number of an old one.)
 */
struct mnt_namespace___seq {
	u64 seq;
} __attribute__((preserve_access_index));
struct ns_common___id {
	u64 ns_id;
} __attribute__((preserve_access_index));
struct mnt_namespace___nsid {
	struct ns_common___id ns;
} __attribute__((preserve_access_index));

/*
 * The main program reads kernel structures it reaches from its typed
 * arguments (task, bprm) directly: the verifier turns those loads into
 * fault-safe ones, much cheaper than a bpf_probe_read_kernel() call each. A
 * pointer computed with container_of (struct mount from its vfsmount) has no
 * type the verifier can check, so reads through it stay BPF_CORE_READ.
 */
static __always_inline __u64 pf_mntns_id(struct mnt_namespace *ns)
{
	struct mnt_namespace___seq *old = (void *)ns;
	struct mnt_namespace___nsid *new = (void *)ns;

	if (bpf_core_field_exists(old->seq))
		return pf_kread(old, seq);
	return pf_kread(new, ns.ns_id);
}

/*
 * The task's view. Its root is the namespace's own root when it is the
 * root of the namespace's root mount, or of the mount stacked on that
 * mount's root (the container's root after pivot_root, the host's root
 * over rootfs). Anything else is a chroot.
 */
static __always_inline void pf_view_load(struct task_struct *task, struct pf_view *vw)
{
	/* Locals: CO-RE reads must start from kernel types, not from our struct. */
	struct mnt_namespace *ns = pf_kread(task, nsproxy, mnt_ns);
	struct dentry *root_dentry = pf_kread(task, fs, root.dentry);
	struct vfsmount *root_mnt = pf_kread(task, fs, root.mnt);
	struct mount *rmnt, *nsroot;

	vw->ns = ns;
	vw->root_dentry = root_dentry;
	vw->root_mnt = root_mnt;
	vw->root_is_ns_root = false;
	if (!ns || root_dentry != pf_kread(root_mnt, mnt_root))
		return;
	nsroot = pf_kread(ns, root);
	if (&nsroot->mnt == root_mnt) {
		vw->root_is_ns_root = true;
		return;
	}
	rmnt = pf_real_mount(root_mnt);
	vw->root_is_ns_root = BPF_CORE_READ(rmnt, mnt_parent) == nsroot &&
			      BPF_CORE_READ(rmnt, mnt_mountpoint) == pf_kread(nsroot, mnt.mnt_root);
}

/* Prepends `len` bytes of `src` (kernel memory) to the path. */
static __always_inline int pf_walk_prepend(struct pf_walk *w, const void *src, __u32 len)
{
	__u32 off = w->off;

	if (len > PF_NAME_MAX || off < len) {
		w->status = PF_PATH_TOO_LONG;
		return -1;
	}
	off -= len;
	off &= PF_PATH_BUF - 1; /* proven < PF_PATH_BUF; len <= PF_NAME_MAX fits the slack */
	if (len)
		bpf_probe_read_kernel(pf_walk_buf(w) + off, len & PF_NAME_MAX, src);
	w->off = off;
	return 0;
}

static __always_inline int pf_walk_prepend_char(struct pf_walk *w, char c)
{
	__u32 off;

	if (w->off == 0) {
		w->status = PF_PATH_TOO_LONG;
		return -1;
	}
	w->off--;
	off = w->off;
	/*
	 * clang knows off < PF_PATH_BUF here and drops the mask; the 6.1
	 * verifier does not learn that from the != 0 test above, so keep it.
	 */
	barrier_var(off);
	pf_walk_buf(w)[off & (PF_PATH_BUF - 1)] = c;
	return 0;
}

static __always_inline int pf_walk_prepend_name(struct pf_walk *w, struct dentry *d)
{
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 len = BPF_CORE_READ(d, d_name.len);

	if (pf_walk_prepend(w, name, len))
		return -1;
	return pf_walk_prepend_char(w, '/');
}

/* One step of the walk (a bpf_loop callback): returns 1 to stop. */
static long pf_walk_step(__u32 i, void *ctx)
{
	struct pf_walk *w = ctx;
	/* Locals: CO-RE reads must start from kernel types, not from our struct. */
	struct dentry *d = w->dentry, *parent;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt, *mparent;

	if (d == w->root_dentry && vfsmnt == w->root_mnt) {
		w->done = 1;
		return 1;
	}
	if (d == BPF_CORE_READ(vfsmnt, mnt_root)) {
		mparent = BPF_CORE_READ(mnt, mnt_parent);
		if (mparent == mnt) {
			/*
			 * The top of a mount tree without meeting the task's root:
			 * a detached mount, or a file of the namespace hidden
			 * under the task's root. Printed from "/" as before.
			 */
			w->foreign = 1;
			w->done = 1;
			return 1;
		}
		if (BPF_CORE_READ(mparent, mnt_ns) != w->ns)
			w->foreign = 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mparent;
		w->vfsmnt = &mparent->mnt;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (pf_walk_prepend_name(w, d))
		return 1;
	if (parent == d) {
		w->done = 1; /* disconnected root of a pseudo filesystem */
		return 1;
	}
	w->dentry = parent;
	return 0;
}

static const char pf_deleted_suffix[] = " (deleted)";

#ifdef PF_COMPAT
__noinline int pf_walk_step_global(__u32 i, __u32 slot)
{
	struct pf_walk_frame *f = bpf_map_lookup_elem(&walk_frames, &slot);

	return f ? pf_walk_step(i, &f->w) : 1;
}
#endif

/*
 * A file on a mount of no namespace: detached (umount2 MNT_DETACH) while
 * open, as runc does with the bind mount of its own binary. Detaching a
 * mount takes CAP_SYS_ADMIN over its namespace.
 */
static __always_inline bool pf_file_on_detached_mount(struct file *file)
{
	struct vfsmount *vfsmnt = pf_kread(file, f_path.mnt);

	return !BPF_CORE_READ(pf_real_mount(vfsmnt), mnt_ns);
}

/* Where the path starts, and the walk's status (the compat build copies its path out first). */
static __always_inline int pf_walk_end(struct pf_walk *w, char *buf, __u32 *off)
{
#ifdef PF_COMPAT
	bpf_probe_read_kernel(buf, PF_PATH_BUF, pf_walk_buf(w));
#endif
	*off = w->off;
	return w->status;
}

/*
 * Resolves `file` into buf (at least PF_WALK_BUF bytes), as seen from the
 * view's root. On return the path is buf[*off .. PF_PATH_BUF); *foreign says
 * whether it is not the namespace's own view of the file (see the top of
 * this file), *pseudo whether it is a pseudo file (memfd, anonymous), whose
 * name is the same in every view; returns enum pf_path_status. `slot`: the
 * caller's scratch slot (the compat build's walk frame).
 */
static __always_inline int pf_resolve_path(struct file *file, const struct pf_view *vw, char *buf,
					   __u32 slot, __u32 *off, bool *foreign, bool *pseudo)
{
	struct dentry *d = pf_kread(file, f_path.dentry);
	struct vfsmount *vfsmnt = pf_kread(file, f_path.mnt);
	struct dentry *mnt_root = pf_kread(vfsmnt, mnt_root);
#ifndef PF_COMPAT
	struct pf_walk wl = {}, *w = &wl;

	w->buf = buf;
#else
	struct pf_walk_frame *f = bpf_map_lookup_elem(&walk_frames, &slot);
	struct pf_walk *w;

	*foreign = false;
	*pseudo = false;
	if (!f) {
		*off = PF_PATH_BUF;
		return PF_PATH_TOO_LONG; /* cannot happen: slot < PF_SCRATCH_SLOTS */
	}
	w = &f->w;
	__builtin_memset(w, 0, sizeof(*w));
#endif
	w->off = PF_PATH_BUF;
	w->dentry = d;
	w->vfsmnt = vfsmnt;
	w->mnt = pf_real_mount(vfsmnt);
	w->root_dentry = vw->root_dentry;
	w->root_mnt = vw->root_mnt;
	w->ns = vw->ns;
	*foreign = false;
	*pseudo = false;

	/*
	 * d_path() semantics: a pseudo dentry (its own parent, not a mount root:
	 * memfd, anonymous files) prints as "/name (deleted)"; an unlinked file
	 * gets " (deleted)" after its last name.
	 */
	if (pf_kread(d, d_parent) == d && d != mnt_root) {
		/* On the kernel's internal mount: its name is all there is to see. */
		pf_walk_prepend(w, pf_deleted_suffix, sizeof(pf_deleted_suffix) - 1);
		pf_walk_prepend_name(w, d);
		*pseudo = true;
		return pf_walk_end(w, buf, off);
	}
	if (!pf_kread(d, d_hash.pprev))
		pf_walk_prepend(w, pf_deleted_suffix, sizeof(pf_deleted_suffix) - 1);

	if (!vw->root_is_ns_root || BPF_CORE_READ(pf_real_mount(vfsmnt), mnt_ns) != vw->ns)
		w->foreign = 1;
	pf_loop_global(PF_MAX_DEPTH, pf_walk_step, w, slot);
	*foreign = w->foreign;
	if (w->status == PF_PATH_OK && !w->done)
		w->status = PF_PATH_TOO_LONG; /* deeper than PF_MAX_DEPTH components */
	if (w->status == PF_PATH_OK && w->off == PF_PATH_BUF)
		pf_walk_prepend_char(w, '/'); /* the root itself */
	return pf_walk_end(w, buf, off);
}

#endif /* PF_PATH_BPF_H */
