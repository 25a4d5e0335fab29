/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Learning: what a pod's container executes, each distinct (container, file,
 * calling binary) recorded once. Only workloads user space put in learning
 * mode pay for it (their ruleset carries a learn id); a repeated exec costs
 * two hashes and one lookup, and sends nothing to user space, so a fork
 * storm of one binary is one record whatever the exec rate.
 *
 * A record the ring buffer cannot take is forgotten again (its next exec
 * records it); a record the table cannot take is counted and tried again:
 * neither is a silent gap (stats, shown in status).
 */
#ifndef PF_LEARN_BPF_H
#define PF_LEARN_BPF_H

/*
 * Records seen, keyed by (learn id, kind, path hashes). The kernel copy is
 * only a filter: user space keeps every record, drops the entries of pods
 * that are gone and, when the table fills, the least recently seen (their
 * next exec records them again, which user space merges).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_learn_key);
	__type(value, struct pf_learn_seen);
	__uint(max_entries, 16384);
} learned SEC(".maps");

/*
 * Exec sessions (kubectl exec): the runtime starts their command in the
 * running container. Such a process is marked, and so is every process
 * that execs below it, so that what a session runs is recorded apart from
 * the workload's own profile. Keyed by thread group id, the value is the
 * group leader's start time (a reused pid does not match); user space
 * drops the marks of processes that are gone.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} session_procs SEC(".maps");

#define PF_FNV_OFFSET 0xcbf29ce484222325ULL
#define PF_FNV_PRIME  0x100000001b3ULL

/* FNV-1a over the 4-byte words of a subject's lookup key (zero-padded path). */
static long pf_learn_hash_step(__u32 i, void *ctx)
{
	struct pf_eval *e = ctx;
	struct pf_scratch *s = pf_eval_scratch(e);
	__u32 subj = s->hash_subject & 1, w;

	if (i >= s->hash_words || i >= PF_EXACT_MAX / 4)
		return 1;
	w = *(__u32 *)&s->key[subj].path[(i * 4) & (PF_EXACT_MAX - 4)];
	s->hash = (s->hash ^ w) * PF_FNV_PRIME;
	return 0;
}

#ifdef PF_COMPAT
__noinline int pf_learn_hash_step_global(__u32 i, __u32 slot)
{
	struct pf_scratch *s = bpf_map_lookup_elem(&scratch, &slot);

	return s ? pf_learn_hash_step(i, &s->ev) : 1;
}
#endif

/*
 * The hash of a subject's path, as pf_key_load() laid it out: the whole
 * path up to PF_EXACT_MAX bytes, else its first PF_AFFIX_MAX; its length last.
 */
static __always_inline __u64 pf_learn_hash(struct pf_eval *e, __u32 subj)
{
	struct pf_scratch *s = pf_eval_scratch(e);
	__u32 len = s->subj[subj & 1].len;
	__u32 n = len <= PF_EXACT_MAX ? len : PF_AFFIX_MAX;

	s->hash = PF_FNV_OFFSET;
	s->hash_subject = subj;
	s->hash_words = (n + 3) / 4;
	pf_loop_global(PF_EXACT_MAX / 4, pf_learn_hash_step, e, pf_eval_slot(e));
	return (s->hash ^ len) * PF_FNV_PRIME;
}

/* Whether the thread group of `t` carries a session mark (its start time matches). */
static __always_inline bool pf_session_marked(struct task_struct *t)
{
	__u32 tgid = BPF_CORE_READ(t, tgid);
	__u64 start = BPF_CORE_READ(t, group_leader, start_time), *mark;

	mark = bpf_map_lookup_elem(&session_procs, &tgid);
	return mark && *mark == start;
}

/*
 * Whether the task runs in an exec session. `leader`: its exec is a
 * session's command (the runtime exec'd it in a container already running):
 * it is marked. Otherwise a mark on it, its parent or its grandparent says
 * so (a shell's child, or the child of a subshell), and is copied onto it:
 * marks move down with every exec, whatever the depth.
 */
static __always_inline bool pf_in_session(struct task_struct *task, bool leader)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 start = BPF_CORE_READ(task, group_leader, start_time);

	if (!leader) {
		if (pf_session_marked(task))
			return true;
		if (!pf_session_marked(parent) &&
		    !pf_session_marked(BPF_CORE_READ(parent, real_parent)))
			return false;
	}
	if (bpf_map_update_elem(&session_procs, &tgid, &start, BPF_ANY))
		pf_stat_inc(PF_STAT_LEARN_FULL);
	return true;
}

/* Copies a subject's path (at most PF_EXACT_MAX bytes) into a record. */
static __always_inline __u32 pf_learn_copy(struct pf_scratch *s, __u32 subj, char *dst)
{
	const char *src = subj == PF_SUBJ_CALLER ? s->caller : s->walk;
	__u32 len = s->subj[subj & 1].len;

	if (len > PF_EXACT_MAX - 1)
		len = PF_EXACT_MAX - 1;
	bpf_probe_read_kernel(dst, len, src + (s->subj[subj & 1].off & (PF_PATH_BUF - 1)));
	dst[len & (PF_EXACT_MAX - 1)] = 0;
	return len;
}

static __always_inline bool pf_learn_emit(struct pf_eval *e, __u64 cgid)
{
	struct pf_learn_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	struct pf_scratch *s = pf_eval_scratch(e);
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev)
		return false;
	ev->ktime_ns = bpf_ktime_get_ns();
	ev->cgroup_id = cgid;
	ev->pid = (__u32)id;
	ev->tgid = id >> 32;
	ev->learn_id = s->learn_key.learn_id;
	ev->flags = PF_EV_LEARN | s->learn_key.flags | s->learn_flags;
	ev->key = s->learn_key;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	pf_learn_copy(s, PF_SUBJ_EXEC_PATH, ev->path);
	ev->path_len = s->subj[PF_SUBJ_EXEC_PATH].len;
	ev->caller[0] = 0;
	ev->caller_len = 0;
	if (s->learn_key.caller_hash) {
		pf_learn_copy(s, PF_SUBJ_CALLER, ev->caller);
		ev->caller_len = s->subj[PF_SUBJ_CALLER].len;
	}
	bpf_ringbuf_submit(ev, 0);
	return true;
}

/*
 * Counts one use of k in `learned`: true when k is new there, and its one
 * record is then the caller's to send (pf_learn_forget() when it cannot).
 * A full table is counted; another CPU inserting k first is a repeat.
 */
static __always_inline bool pf_learn_first_use(struct pf_learn_key *k)
{
	struct pf_learn_seen *seen, fresh;
	__u64 now = bpf_ktime_get_ns();
	long err;

	seen = bpf_map_lookup_elem(&learned, k);
	if (seen) {
		seen->last_ns = now;
		__sync_fetch_and_add(&seen->execs, 1);
		return false;
	}
	fresh.first_ns = now;
	fresh.last_ns = now;
	fresh.execs = 1;
	err = bpf_map_update_elem(&learned, k, &fresh, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU recorded it first */)
		return false;
	if (err) {
		pf_stat_inc(PF_STAT_LEARN_FULL);
		return false;
	}
	return true;
}

/* A new key whose record could not be sent: forgotten, so that its next use records it again. */
static __always_inline void pf_learn_forget(struct pf_learn_key *k)
{
	bpf_map_delete_elem(&learned, k);
	pf_stat_inc(PF_STAT_LEARN_LOST);
}

/*
 * Records an exec the workload's rules let run. `anchored`: it was the
 * container's first (its entrypoint, when the runtime exec'd it).
 */
static __always_inline void pf_learn(struct pf_eval *e, __u64 cgid, bool anchored)
{
	struct pf_scratch *s = pf_eval_scratch(e);
	struct pf_subj *exec = &s->subj[PF_SUBJ_EXEC_PATH], *caller = &s->subj[PF_SUBJ_CALLER];
	struct pf_learn_key *k = &s->learn_key;

	if (exec->state != PF_SUBJECT_OK && exec->state != PF_SUBJECT_FOREIGN)
		return; /* unresolvable: counted as such (PF_STAT_PATH_FAILED) */
	pf_stat_inc(PF_STAT_LEARN_EXECS);
	k->learn_id = s->rs.learn_id;
	k->flags = 0;
	k->caller_hash = 0;
	s->learn_flags = 0;
	if (exec->state == PF_SUBJECT_FOREIGN)
		k->flags |= PF_LEARN_FOREIGN;
	if (exec->len > PF_EXACT_MAX)
		s->learn_flags |= PF_LEARN_PATH_LONG;
	if (caller->state == PF_SUBJECT_OK && caller->pseudo)
		k->flags |= PF_LEARN_RUNTIME_CALLER;
	else if (caller->state == PF_SUBJECT_OK || caller->state == PF_SUBJECT_FOREIGN)
		k->caller_hash = pf_learn_hash(e, PF_SUBJ_CALLER);
	else
		s->learn_flags |= PF_LEARN_NO_CALLER;
	if (caller->len > PF_EXACT_MAX && k->caller_hash)
		s->learn_flags |= PF_LEARN_CALLER_LONG;
	if (pf_in_session(e->task, (k->flags & PF_LEARN_RUNTIME_CALLER) && !anchored))
		k->flags |= PF_LEARN_SESSION;
	k->path_hash = pf_learn_hash(e, PF_SUBJ_EXEC_PATH);

	if (!pf_learn_first_use(k))
		return;
	if (!pf_learn_emit(e, cgid)) {
		pf_learn_forget(k);
		return;
	}
	pf_stat_inc(PF_STAT_LEARN_RECORDS);
}

#endif /* PF_LEARN_BPF_H */
