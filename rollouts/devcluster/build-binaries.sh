#!/usr/bin/env bash
# Builds the local control plane's binaries from Go modules only (no release downloads) and caches them
# outside the repo, keyed by versions. Idempotent: a finished build leaves a stamp and is skipped next time.
# Prints the bin directory as its last line.
set -euo pipefail
KVER=${RW_K8S_VERSION:-1.34.4}
KWOKV=${RW_KWOK_VERSION:-v0.8.0}
ETCDV=${RW_ETCD_VERSION:-v3.6.10}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
OUT=${RW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rollwave}/k8s-v${KVER}-kwok${KWOKV}-etcd${ETCDV}
BIN=$OUT/bin
if [ -f "$OUT/.done" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$BIN" "$OUT/k8s" "$OUT/etcd"
step() { echo "==> [$(date +%T)] $*" >&2; }

if [ ! -x "$BIN/kube-apiserver" ] || [ ! -x "$BIN/kubectl" ]; then
  step "kubernetes v$KVER: resolving modules (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
  cd "$OUT/k8s"
  [ -f go.mod ] || go mod init local/k8sbins >&2
  KDIR=$(go mod download -json "k8s.io/kubernetes@v$KVER" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces a dependent module ignores;
  # point each at its published tag instead.
  for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/src/.*|\1|p' "$KDIR/go.mod"); do
    go mod edit "-replace=$m=$m@v0.${KVER#1.}"
  done
  go get "k8s.io/kubernetes@v$KVER" >&2
  go mod download >&2
  MINOR=$(echo "$KVER" | cut -d. -f2)
  LD="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD="$LD -X $p.gitVersion=v$KVER -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean"
  done
  step "kubernetes v$KVER: compiling (the longest step; 15-30 min on 2 cores)"
  go build -trimpath -ldflags "$LD" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl >&2
fi

if [ ! -x "$BIN/kwok" ] || [ ! -x "$BIN/kwokctl" ]; then
  step "kwok $KWOKV: compiling kwok and kwokctl"
  GOBIN=$BIN go install "sigs.k8s.io/kwok/cmd/kwok@$KWOKV" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOKV" >&2
fi

if [ ! -x "$BIN/etcd" ]; then
  step "etcd $ETCDV: compiling"
  cd "$OUT/etcd"
  [ -f go.mod ] || go mod init local/etcdbin >&2
  go get "go.etcd.io/etcd/server/v3@$ETCDV" >&2
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 >&2
fi

# kwok's stage definitions ship in its module; keep a copy beside the binaries.
if [ ! -d "$OUT/kwok-stages" ]; then
  KWOKDIR=$(go mod download -json "sigs.k8s.io/kwok@$KWOKV" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  cp -r "$KWOKDIR/kustomize/stage" "$OUT/kwok-stages"
  chmod -R u+w "$OUT/kwok-stages"
fi
touch "$OUT/.done"
step "done: $BIN"
echo "$BIN"
