#!/usr/bin/env bash
# Builds the sandbox's Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler) from the Go modules pinned in go.mod into a cache outside the repository, and reuses
# it while go.mod, go.sum and the sources here are unchanged. Prints the directory holding the binaries.
#
#   sandbox/controlplane/build.sh            # build if needed, print the bin directory
#   PGC_CONTROLPLANE_CACHE=/some/dir ...     # where the cache lives (default ~/.cache/pgcluster-controlplane)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${PGC_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgcluster-controlplane}"
release="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/go.mod")"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" $(find "$here/cmd" -name '*.go' | sort) | sha256sum | cut -c1-12)"
out="$cache/$release-$key/bin"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler)

complete() { for b in "${binaries[@]}"; do [ -x "$out/$b" ] || return 1; done; }

if complete; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "control plane build: no 'go' on PATH; run bin/install-prerequisites, then retry" >&2; exit 1; }
mkdir -p "$cache"
export GOCACHE="$cache/go-build"     # kept with the binaries: a warm rebuild after a go.mod change
export GOFLAGS="-mod=mod -trimpath"
export CGO_ENABLED=0
tmp="$out.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
echo "control plane build: Kubernetes $release into $out (first build takes minutes)" >&2
started=$(date +%s)
log="$cache/build-$release.log"
# The version the binaries report (/version, what helm checks a chart's kubeVersion against), as a release
# build stamps it; a plain module build would say v0.0.0-master.
minor="$(echo "$release" | cut -d. -f2)"
stamp="-X k8s.io/component-base/version.gitVersion=$release -X k8s.io/component-base/version.gitMajor=1"
stamp="$stamp -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
if ! (cd "$here" && go build -ldflags="-s -w $stamp" -o "$tmp/" \
      ./cmd/etcd \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler) >"$log" 2>&1; then
  reason="$(grep -v -e '^go: downloading' -e '^#' "$log" | head -n1 | cut -c1-300)"
  failed="$(grep -v '^go: downloading' "$log" | grep -m1 -oE '[A-Za-z0-9._~/-]+@v[0-9][^: ]*' || true)"
  echo "control plane build failed for Kubernetes $release at ${failed:-an unnamed module}: $reason" >&2
  echo "full log: $log; fix or change the version in $here/go.mod, then retry: $0" >&2
  rm -rf "$tmp"
  exit 1
fi
rm -rf "$out"; mv "$tmp" "$out"
# Binaries of an older go.mod or script are dead weight (about 330 MB each).
find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'v*-*' ! -path "$cache/$release-$key" -exec rm -rf {} +
echo "control plane build: done in $(( $(date +%s) - started )) s" >&2
echo "$out"
