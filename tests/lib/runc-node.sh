# shellcheck shell=sh
# Real containers for the throw-away node (tests/lib/fake-node.sh, sourced
# first, node_init done): pods made with runc the way containerd makes them
# from a Pod manifest.
#
#   - The kubelet writes the Pod (no container ids yet) and creates the pod's
#     cgroup; then the sandbox runs a pause-like binary in its own mount, pid,
#     uts, ipc and network namespaces; then the init containers run to
#     completion, in order; then the app containers start, each joining the
#     sandbox's network, ipc and uts namespaces.
#   - Each container is a runc container whose root is an overlayfs (lower:
#     an image directory, upper: its own), with the cgroup path the kubelet's
#     cgroupfs driver gives containerd (/kubepods/<qos>/pod<uid>/<id>) and the
#     annotations containerd's CRI plugin writes into the bundle's
#     config.json, in the bundle directory containerd's runc shim uses
#     (RNODE_STATE/<id>/), before `runc create`.
#   - The Pod's status (container ids) is written the way the kubelet
#     reports it: after the containers started (RNODE_STATUS_DELAY seconds
#     later when set, in the background).
#
# Plain sh (the kernel-matrix guests run busybox). Functions return non-zero
# on failure and say why on stderr.
#
#   rnode_check                   why runc containers cannot run here (exit 1), or nothing
#   rnode_init                    the runtime's directories (after node_init)
#   rnode_image NAME [SRC=DEST]...  an image: busybox, pause at /pause, the files given
#   rpod_create NS NAME UID LABELS SPEC...   SPEC = init|app:CONTAINER:IMAGE:CMD ARGS
#   rpod_exec NS NAME CONTAINER CMD...       `runc exec` (kubectl exec); prints the exit status
#   rpod_restart NS NAME CONTAINER           the runtime's restart: a new container, new id
#   rpod_delete NS NAME                      stops and removes every container, the pod's cgroups
#   rpod_cid NS NAME CONTAINER               the running container's id
#   rnode_cleanup                            every container of the node (node_cleanup calls it)

RNODE_RUNC=${RNODE_RUNC:-runc}

# rnode_check: prints why runc containers cannot run here, and fails; silent when they can.
rnode_check() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root"
		return 1
	fi
	command -v "$RNODE_RUNC" >/dev/null 2>&1 || {
		echo "runc not found (make setup installs it)"
		return 1
	}
	_rnode_busybox >/dev/null || {
		echo "no static busybox for the images (make setup installs busybox-static)"
		return 1
	}
	grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null
	grep -qw overlay /proc/filesystems 2>/dev/null || {
		echo "the kernel has no overlayfs"
		return 1
	}
	[ -x "${PF_HELPERS:-$(dirname "$PODFENCE")/tests/helpers}/pf_pause" ] || {
		echo "test helpers not built (make all)"
		return 1
	}
	return 0
}

# A statically linked busybox: the images have no libraries.
_rnode_busybox() {
	for b in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null)"; do
		[ -x "$b" ] || continue
		# ldd fails on a static binary (and is missing in the guests, whose busybox is static)
		if ! ldd "$b" >/dev/null 2>&1; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

rnode_init() {
	RNODE_HELPERS=${PF_HELPERS:-$(dirname "$PODFENCE")/tests/helpers}
	# containerd's runc shim v2 layout: <state>/<namespace>/<container id>/{config.json,rootfs}
	RNODE_STATE="$NODE_DIR/run/containerd/io.containerd.runtime.v2.task/k8s.io"
	RNODE_ROOT="$NODE_DIR/run/runc" # runc --root: its own state, apart from the host's
	RNODE_IMAGES="$NODE_DIR/images"
	RNODE_LAYERS="$NODE_DIR/layers"
	# runc takes cgroup paths relative to each hierarchy's root.
	RNODE_CG_REL=${NODE_CG#"$(cgroup2_mount)"}
	# runc turns controllers on up to the root and leaves them on: put back at cleanup
	RNODE_CONTROLLERS=$(cat "$(cgroup2_mount)/cgroup.subtree_control" 2>/dev/null)
	mkdir -p "$RNODE_STATE" "$RNODE_ROOT" "$RNODE_IMAGES" "$RNODE_LAYERS" "$NODE_DIR/pods" ||
		return 1
	rnode_image base
}

# rnode_image NAME [SRC=DEST]...: busybox with a few applets in /bin, the
# pause helper at /pause, and each SRC copied to DEST inside the image.
rnode_image() {
	_img="$RNODE_IMAGES/$1"
	shift
	rm -rf "$_img"
	mkdir -p "$_img/bin" "$_img/app" "$_img/proc" "$_img/dev" "$_img/sys" "$_img/tmp" \
		"$_img/etc" || return 1
	cp "$(_rnode_busybox)" "$_img/bin/busybox" || return 1
	for _a in sh sleep cat ls echo true false ln cp chmod mkdir test env id; do
		ln -s busybox "$_img/bin/$_a"
	done
	cp "$RNODE_HELPERS/pf_pause" "$_img/pause" || return 1
	echo "root:x:0:0:root:/:/bin/sh" >"$_img/etc/passwd"
	for _f in "$@"; do
		mkdir -p "$_img$(dirname "${_f#*=}")"
		cp "${_f%%=*}" "$_img${_f#*=}" || return 1
	done
}

# _rnode_key NS NAME [CONTAINER]: a file-name-safe key.
_rnode_key() { echo "$*" | tr ' /' '__'; }

# rpod_cid NS NAME CONTAINER: the id of the container's current instance.
rpod_cid() {
	cat "$NODE_DIR/pods/.$(_rnode_key "$1" "$2" "$3").id" 2>/dev/null
}

# _rnode_config ID TYPE POD_NS POD_NAME POD_UID SANDBOX_ID CONTAINER JOIN_PID CMD...
# Writes the bundle's config.json the way containerd's CRI plugin does.
_rnode_config() {
	_id=$1 _type=$2 _ns=$3 _name=$4 _uid=$5 _sb=$6 _cname=$7 _join=$8
	shift 8
	_args=
	for _a in "$@"; do
		_args="$_args${_args:+, }\"$_a\""
	done
	_nsjson='{"type": "pid"}, {"type": "mount"}'
	for _t in network ipc uts; do
		if [ "$_join" ]; then
			_p=$_t
			[ "$_t" = network ] && _p=net
			_nsjson="$_nsjson, {\"type\": \"$_t\", \"path\": \"/proc/$_join/ns/$_p\"}"
		else
			_nsjson="$_nsjson, {\"type\": \"$_t\"}"
		fi
	done
	_caps='"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
			"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
			"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"'
	_ann="\"io.kubernetes.cri.container-type\": \"$_type\",
		\"io.kubernetes.cri.sandbox-id\": \"$_sb\",
		\"io.kubernetes.cri.sandbox-name\": \"$_name\",
		\"io.kubernetes.cri.sandbox-namespace\": \"$_ns\",
		\"io.kubernetes.cri.sandbox-uid\": \"$_uid\""
	[ "$_type" = container ] && _ann="$_ann,
		\"io.kubernetes.cri.container-name\": \"$_cname\",
		\"io.kubernetes.cri.image-name\": \"example/$_cname\""
	# containerd writes it in place (no rename): the agent must cope with that.
	cat >"$RNODE_STATE/$_id/config.json" <<EOF
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": {"uid": 0, "gid": 0},
		"args": [$_args],
		"env": ["PATH=/app:/bin", "HOSTNAME=$_name"],
		"cwd": "/",
		"capabilities": {
			"bounding": [$_caps],
			"effective": [$_caps],
			"permitted": [$_caps]
		},
		"noNewPrivileges": false
	},
	"root": {"path": "rootfs"},
	"hostname": "$_name",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc",
		 "options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs",
		 "options": ["nosuid", "noexec", "nodev", "ro"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		 "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}
	],
	"annotations": {
		$_ann
	},
	"linux": {
		"cgroupsPath": "$RNODE_CG_REL/kubepods/burstable/pod$_uid/$_id",
		"namespaces": [$_nsjson],
		"maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
		"readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
	}
}
EOF
}

# _rnode_bundle ID IMAGE: the bundle directory with its overlay root mounted.
_rnode_bundle() {
	_b="$RNODE_STATE/$1"
	mkdir -p "$_b/rootfs" "$RNODE_LAYERS/$1/upper" "$RNODE_LAYERS/$1/work" || return 1
	[ -d "$RNODE_IMAGES/$2" ] || {
		echo "no image $2 (rnode_image)" >&2
		return 1
	}
	mount -t overlay overlay \
		-o "lowerdir=$RNODE_IMAGES/$2,upperdir=$RNODE_LAYERS/$1/upper,workdir=$RNODE_LAYERS/$1/work" \
		"$_b/rootfs"
}

# _rnode_unbundle ID: the runtime's removal of a container.
_rnode_unbundle() {
	"$RNODE_RUNC" --root "$RNODE_ROOT" delete -f "$1" >/dev/null 2>&1
	umount "$RNODE_STATE/$1/rootfs" 2>/dev/null
	rm -rf "${RNODE_STATE:?}/$1" "${RNODE_LAYERS:?}/$1"
}

_rnode_log() { echo "$NODE_DIR/runc-$1.log"; }

# _rnode_start KIND NS NAME UID CONTAINER IMAGE CMD...: creates and starts one
# container (KIND sandbox, init: runs to completion, app); fails when it
# does not start (or, for init, does not exit 0).
_rnode_start() {
	_kind=$1 _pns=$2 _pname=$3 _puid=$4 _c=$5 _image=$6
	shift 6
	_key=$(_rnode_key "$_pns" "$_pname" "$_c")
	_n=$(($(cat "$NODE_DIR/pods/.$_key.n" 2>/dev/null || echo 0) + 1))
	echo "$_n" >"$NODE_DIR/pods/.$_key.n"
	_cid=$(container_id "$_pns-$_pname-$_c-$_n-$$")
	_sbid=$(rpod_cid "$_pns" "$_pname" .sandbox)
	_join=
	if [ "$_kind" != sandbox ]; then
		_join=$(cat "$RNODE_STATE/$_sbid/init.pid" 2>/dev/null)
		[ -n "$_join" ] && [ -d "/proc/$_join" ] || {
			echo "pod $_pns/$_pname: no sandbox running" >&2
			return 1
		}
	fi
	_type=container
	[ "$_kind" = sandbox ] && _type=sandbox _sbid=$_cid
	_rnode_bundle "$_cid" "$_image" || return 1
	_rnode_config "$_cid" "$_type" "$_pns" "$_pname" "$_puid" "$_sbid" "$_c" "$_join" "$@" ||
		return 1
	echo "$_cid" >"$NODE_DIR/pods/.$_key.id"
	echo "$_cid" >>"$NODE_DIR/pods/.$(_rnode_key "$_pns" "$_pname").ids"
	_log=$(_rnode_log "$_cid")
	if [ "$_kind" = init ]; then
		# runc run: create, start, and wait for the exit status.
		"$RNODE_RUNC" --root "$RNODE_ROOT" run --bundle "$RNODE_STATE/$_cid" "$_cid" \
			</dev/null >"$_log" 2>&1 || {
			echo "pod $_pns/$_pname: init container $_c failed: $(tail -n 3 "$_log")" >&2
			return 1
		}
		return 0
	fi
	"$RNODE_RUNC" --root "$RNODE_ROOT" create --bundle "$RNODE_STATE/$_cid" \
		--pid-file "$RNODE_STATE/$_cid/init.pid" "$_cid" </dev/null >"$_log" 2>&1 &&
		"$RNODE_RUNC" --root "$RNODE_ROOT" start "$_cid" >>"$_log" 2>&1 || {
		echo "pod $_pns/$_pname: container $_c did not start: $(tail -n 3 "$_log")" >&2
		return 1
	}
	_rnode_started "$(cat "$RNODE_STATE/$_cid/init.pid")" || {
		echo "pod $_pns/$_pname: container $_c did not start: $(tail -n 3 "$_log")" >&2
		return 1
	}
}

# _rnode_started PID: the container's init (PID) has exec'd its entrypoint
# and is alive (a refused exec: the process is gone, or runc init still has it).
_rnode_started() {
	_pid=$1
	[ -n "$_pid" ] && [ "$_pid" != 0 ] || return 1
	_i=0
	while [ $_i -lt 200 ]; do
		_comm=$(cat "/proc/$_pid/comm" 2>/dev/null) || return 1
		case $(cut -d' ' -f3 "/proc/$_pid/stat" 2>/dev/null) in
		Z | X | "") return 1 ;;
		esac
		if [ "$_comm" != "runc:[2:INIT]" ]; then
			# exec'd: a SIGKILL verdict lands before the new image runs
			sleep 0.02
			case $(cut -d' ' -f3 "/proc/$_pid/stat" 2>/dev/null) in
			Z | X | "") return 1 ;;
			esac
			return 0
		fi
		sleep 0.01
		_i=$((_i + 1))
	done
	return 1
}

# _rnode_manifest NS NAME UID LABELS WITH_STATUS SPEC...: the Pod file.
_rnode_manifest() {
	_mns=$1 _mname=$2 _muid=$3 _mlabels=$4 _mstatus=$5
	shift 5
	_file="$NODE_DIR/pods/$_mns-$_mname.yaml"
	{
		echo "apiVersion: v1"
		echo "kind: Pod"
		echo "metadata:"
		echo "  name: $_mname"
		echo "  namespace: $_mns"
		echo "  uid: $_muid"
		echo "  labels:"
		echo "$_mlabels" | tr , '\n' | while IFS== read -r _k _v; do
			[ -n "$_k" ] && echo "    $_k: \"$_v\""
		done
		echo "spec:"
		for _list in init app; do
			_hdr=containers
			[ $_list = init ] && _hdr=initContainers
			_first=1
			for _s in "$@"; do
				[ "${_s%%:*}" = $_list ] || continue
				[ $_first = 1 ] && echo "  $_hdr:" && _first=0
				_r=${_s#*:}
				echo "  - name: ${_r%%:*}"
				_r=${_r#*:}
				echo "    image: example/${_r%%:*}"
			done
		done
		echo "status:"
		echo "  qosClass: Burstable"
		if [ "$_mstatus" = 1 ]; then
			for _list in init app; do
				_hdr=containerStatuses
				[ $_list = init ] && _hdr=initContainerStatuses
				_first=1
				for _s in "$@"; do
					[ "${_s%%:*}" = $_list ] || continue
					_r=${_s#*:}
					_cn=${_r%%:*}
					_id=$(rpod_cid "$_mns" "$_mname" "$_cn")
					[ -n "$_id" ] || continue
					[ $_first = 1 ] && echo "  $_hdr:" && _first=0
					echo "  - name: $_cn"
					echo "    containerID: containerd://$_id"
				done
			done
		fi
	} >"$_file.tmp" && mv "$_file.tmp" "$_file" || return 1
	# RNODE_PUBLISH: a command that also hands the Pod to an API server
	# ("put FILE", "delete NS NAME"); the agent then reads pods from there.
	[ -z "${RNODE_PUBLISH:-}" ] || $RNODE_PUBLISH put "$_file"
}

# _rnode_await_known NS NAME: until the agent on $NODE_SOCK lists the pod
# (5 s at most; no agent: at once).
_rnode_await_known() {
	_aw=0
	[ -S "${NODE_SOCK:-}" ] || return 0
	until "$PODFENCE" status --socket "$NODE_SOCK" --json 2>/dev/null | tr -d ' \t\n' |
		grep -qF "\"namespace\":\"$1\",\"name\":\"$2\""; do
		_aw=$((_aw + 1))
		[ $_aw -le 100 ] || return 0
		sleep 0.05
	done
}

# rpod_create NS NAME UID LABELS SPEC...
#   SPEC: init:CONTAINER:IMAGE:CMD ARGS or app:CONTAINER:IMAGE:CMD ARGS (words
#   split on spaces), in the order the kubelet starts them.
rpod_create() {
	_ns=$1 _name=$2 _uid=$3 _labels=$4
	shift 4
	_rnode_manifest "$_ns" "$_name" "$_uid" "$_labels" 0 "$@" || return 1
	echo "$*" >"$NODE_DIR/pods/.$(_rnode_key "$_ns" "$_name").spec"
	# a kubelet knows its pods well before their cgroups: wait (up to 5 s) for
	# the running agent to know this one before anything starts; then
	# RNODE_AWAIT_POD, a command, if set
	_rnode_await_known "$_ns" "$_name"
	[ -z "${RNODE_AWAIT_POD:-}" ] || "$RNODE_AWAIT_POD" || return 1
	mkdir -p "$NODE_CG/kubepods/burstable/pod$_uid" || return 1
	_rnode_start sandbox "$_ns" "$_name" "$_uid" .sandbox base /pause || return 1
	for _kind in init app; do
		for _s in "$@"; do
			[ "${_s%%:*}" = $_kind ] || continue
			_r=${_s#*:}
			_c=${_r%%:*}
			_r=${_r#*:}
			_img=${_r%%:*}
			# shellcheck disable=SC2086 # the command's words
			_rnode_start $_kind "$_ns" "$_name" "$_uid" "$_c" "$_img" ${_r#*:} || return 1
		done
	done
	_rnode_status "$_ns" "$_name" "$_uid" "$_labels" "$@"
}

# The kubelet reports the ids after the start (RNODE_STATUS_DELAY s later when set).
_rnode_status() {
	_sns=$1 _sname=$2 _suid=$3 _slabels=$4
	shift 4
	if [ -n "${RNODE_STATUS_DELAY:-}" ]; then
		# Holds no one's output open, and takes its sleep with it when killed.
		(
			trap 'kill $! 2>/dev/null; exit 0' TERM
			sleep "$RNODE_STATUS_DELAY" &
			wait $!
			_rnode_manifest "$_sns" "$_sname" "$_suid" "$_slabels" 1 "$@"
		) </dev/null >/dev/null 2>&1 &
		echo $! >"$NODE_DIR/pods/.$(_rnode_key "$_sns" "$_sname").status-pid"
		return 0
	fi
	_rnode_manifest "$_sns" "$_sname" "$_suid" "$_slabels" 1 "$@"
}

# rpod_exec NS NAME CONTAINER CMD...: kubectl exec; prints the exit status.
rpod_exec() {
	_id=$(rpod_cid "$1" "$2" "$3")
	shift 3
	"$RNODE_RUNC" --root "$RNODE_ROOT" exec "$_id" "$@" </dev/null >/dev/null 2>&1
	echo $?
}

# rpod_exec_out NS NAME CONTAINER CMD...: the same, with the command's output.
rpod_exec_out() {
	_id=$(rpod_cid "$1" "$2" "$3")
	shift 3
	"$RNODE_RUNC" --root "$RNODE_ROOT" exec "$_id" "$@" </dev/null 2>&1
}

# rpod_restart NS NAME CONTAINER: the runtime restarts an app container (new
# id, new cgroup, same name), and the kubelet reports the new id after it.
rpod_restart() {
	_ns=$1 _name=$2 _c=$3
	_old=$(rpod_cid "$_ns" "$_name" "$_c")
	_rnode_unbundle "$_old"
	_spec=$(cat "$NODE_DIR/pods/.$(_rnode_key "$_ns" "$_name").spec")
	_uid=$(sed -n 's/^  uid: //p' "$NODE_DIR/pods/$_ns-$_name.yaml")
	_labels=$(sed -n '/^  labels:/,/^spec:/s/^    \([^:]*\): "\(.*\)"$/\1=\2/p' \
		"$NODE_DIR/pods/$_ns-$_name.yaml" | paste -sd, -)
	# the container's spec: the words after app:C:IMAGE: up to the next spec
	_rest=${_spec#*app:"$_c":}
	_img=${_rest%%:*}
	_cmd=${_rest#*:}
	_cmd=${_cmd%% init:*}
	_cmd=${_cmd%% app:*}
	# shellcheck disable=SC2086 # the command's words
	_rnode_start app "$_ns" "$_name" "$_uid" "$_c" "$_img" $_cmd || return 1
	# shellcheck disable=SC2086
	_rnode_status "$_ns" "$_name" "$_uid" "$_labels" $_spec
}

# rpod_delete NS NAME: the kubelet stops every container, then removes the
# sandbox, the pod's cgroups and the Pod.
rpod_delete() {
	_key=$(_rnode_key "$1" "$2")
	_uid=$(sed -n 's/^  uid: //p' "$NODE_DIR/pods/$1-$2.yaml" 2>/dev/null)
	if [ -f "$NODE_DIR/pods/.$_key.ids" ]; then
		# the kubelet stops a pod's containers side by side
		_pids=
		for _id in $(cat "$NODE_DIR/pods/.$_key.ids"); do
			_rnode_unbundle "$_id" &
			_pids="$_pids $!"
		done
		# shellcheck disable=SC2086 # the list of pids
		wait $_pids
	fi
	# a status still to be written would bring the Pod back
	[ -f "$NODE_DIR/pods/.$_key.status-pid" ] &&
		kill "$(cat "$NODE_DIR/pods/.$_key.status-pid")" 2>/dev/null
	rm -f "$NODE_DIR/pods/$1-$2.yaml" "$NODE_DIR/pods/.$_key".*
	[ -z "${RNODE_PUBLISH:-}" ] || $RNODE_PUBLISH delete "$1" "$2"
	[ -n "$_uid" ] && _rnode_rmcg "kubepods/burstable/pod$_uid"
	return 0
}

# _rnode_rmcg REL: removes a cgroup under the node's root in every hierarchy
# (runc creates its path in the cgroup v1 hierarchies too, where they exist).
_rnode_rmcg() {
	for _h in /sys/fs/cgroup "$(cgroup2_mount)" /sys/fs/cgroup/*; do
		[ -d "$_h$RNODE_CG_REL/$1" ] || continue
		find "$_h$RNODE_CG_REL/$1" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}

# rnode_cleanup: every container of the node, their mounts, their cgroups.
rnode_cleanup() {
	[ -n "${RNODE_STATE:-}" ] && [ -d "$RNODE_STATE" ] || return 0
	for _d in "$RNODE_STATE"/*; do
		[ -d "$_d" ] && _rnode_unbundle "$(basename "$_d")"
	done
	_rnode_rmcg ""
	rm -rf "$RNODE_ROOT"
	_cg2=$(cgroup2_mount)
	for _c in $(cat "$_cg2/cgroup.subtree_control" 2>/dev/null); do
		case " $RNODE_CONTROLLERS " in
		*" $_c "*) ;;
		*) echo "-$_c" >"$_cg2/cgroup.subtree_control" 2>/dev/null ;;
		esac
	done
}
