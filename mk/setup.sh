#!/usr/bin/env bash
# Installs every Debian package podfence needs to build, test and run its demo.
# Idempotent: installs only what is missing, and runs apt-get update at most once.
set -euo pipefail

PACKAGES=(
	make gcc pkg-config
	clang llvm                 # BPF object (clang -target bpf), llvm-strip
	clang-format               # make format, make format-check (CI)
	libclang-rt-14-dev         # make fuzz: libFuzzer + ASan/UBSan runtimes (clang only recommends it)
	bpftool                    # skeleton generation, vmlinux.h
	libbpf-dev libelf-dev zlib1g-dev
	libyaml-dev                # policy and pod files (with line:col marks)
	libjson-c-dev              # events, status, JSON pod manifests
	libcurl4-openssl-dev       # the Kubernetes API client (HTTP, TLS); OpenSSL's base64 for kubeconfig data
	libmicrohttpd-dev          # the agent's /healthz, /readyz and /metrics (--metrics-addr)
	uthash-dev                 # hash tables of the user-space store
	util-linux procps coreutils # mount, timeout, sha256sum in tests
	jq                         # reading status and events in the integration tier
	qemu-system-x86 busybox-static # kernel matrix lanes (make vmtest; kernels: mk/vmtest-kernels.sh)
	runc                       # real containers in the integration tier, the demo and the lanes
	gnuplot-nox                # make bench: docs/img/exec-latency.png
	python3 python3-jinja2     # make bench: docs/benchmarks.md from the results (bench/render_report.py)
	python3-yaml               # the integration tier's fake API server: policies as JSON objects
	python3-jsonschema         # tests/lib/crd-validate.py: the example policies against deploy/crds
	python3-prometheus-client  # the integration tier: /metrics parsed as Prometheus text
	systemd                    # the integration tier: systemd-analyze verify deploy/podfence.service
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
