#!/usr/bin/env bash
# A real Kubernetes API server on 127.0.0.1 for the opt-in `k8s-real` tests: kube-apiserver 1.20.2
# built once from Debian's `kubernetes` source package (offline, vendored modules) and Debian's etcd.
#
#   k8s/test/apiserver.sh build   build kube-apiserver into the cache (15-30 CPU-minutes, once)
#   k8s/test/apiserver.sh start   start etcd + kube-apiserver, print the kubeconfig path
#   k8s/test/apiserver.sh env     print shell exports for the running server
#   k8s/test/apiserver.sh stop    stop both and delete the state folder
#
# Cache: $PGROUTER_K8S_CACHE (default ~/.cache/pgrouter-k8s). State: $PGROUTER_K8S_STATE
# (default ${TMPDIR:-/tmp}/pgrouter-k8s-apiserver). Two tokens: an administrator (system:masters)
# and the router's ServiceAccount `system:serviceaccount:$PGROUTER_K8S_NAMESPACE:pg-event-router`, which
# RBAC authorizes only through the Role and RoleBinding of k8s/base.
set -euo pipefail

CACHE=${PGROUTER_K8S_CACHE:-$HOME/.cache/pgrouter-k8s}
STATE=${PGROUTER_K8S_STATE:-${TMPDIR:-/tmp}/pgrouter-k8s-apiserver}
NAMESPACE=${PGROUTER_K8S_NAMESPACE:-pgrouter-test}
# the ServiceAccount of k8s/base, in $NAMESPACE: its token user is what RBAC sees for a pod of the Deployment
SERVICE_ACCOUNT=pg-event-router
K8S_VERSION=1.20.2
DEB_VERSION=1.20.5+really1.20.2
TARBALL=kubernetes_${DEB_VERSION}.orig.tar.gz
TARBALL_URL=${PGROUTER_K8S_TARBALL_URL:-http://deb.debian.org/debian/pool/main/k/kubernetes/$TARBALL}
TARBALL_SHA256=b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc
# vendored reflect2 1.0.1 crashes under Go >= 1.18; Debian ships the fixed 1.0.2 as source
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2
APISERVER=$CACHE/bin/kube-apiserver

log() { echo "apiserver.sh: $*" >&2; }
die() { log "$*"; exit 1; }

apt_install() {
  local missing=()
  command -v go >/dev/null || missing+=(golang-go)
  command -v etcd >/dev/null || missing+=(etcd-server)
  [ -f "$REFLECT2/go_above_118.go" ] || missing+=(golang-github-modern-go-reflect2-dev)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v python3 >/dev/null || missing+=(python3)
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null || die "install ${missing[*]} (Debian package names) and retry"
  log "installing ${missing[*]}"
  local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -q "${missing[@]}" >&2 \
    || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q "${missing[@]}" >&2; }
}

cmd_build() {
  if [ -x "$APISERVER" ]; then log "already built: $APISERVER"; return; fi
  apt_install
  mkdir -p "$CACHE/bin"
  if [ ! -f "$CACHE/$TARBALL" ]; then
    log "downloading $TARBALL_URL"
    curl -sSfL -o "$CACHE/$TARBALL.part" "$TARBALL_URL"
    mv "$CACHE/$TARBALL.part" "$CACHE/$TARBALL"
  fi
  echo "$TARBALL_SHA256  $CACHE/$TARBALL" | sha256sum -c --quiet - || die "checksum mismatch: $CACHE/$TARBALL"
  local src=$CACHE/src/kubernetes-$K8S_VERSION
  rm -rf "$CACHE/src" && mkdir -p "$CACHE/src"
  tar -xzf "$CACHE/$TARBALL" -C "$CACHE/src"
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  cp -r "$REFLECT2" "$src/vendor/github.com/modern-go/reflect2"
  # Kubernetes 1.20 builds in GOPATH mode from its vendor/ tree, as its own Makefile and Debian do
  local gopath=$CACHE/gopath
  mkdir -p "$gopath/src/k8s.io" && ln -sfn "$src" "$gopath/src/k8s.io/kubernetes"
  # the version as Kubernetes' own build stamps it: component-base for --version, client-go for GET /version
  local v ldflags="-s -w"
  for v in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ldflags+=" -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=20 -X $v.gitTreeState=clean"
  done
  log "building kube-apiserver $K8S_VERSION (15-30 CPU-minutes; log: $CACHE/build.log)"
  (cd "$gopath/src/k8s.io/kubernetes"
   export GO111MODULE=off GOPATH="$gopath" GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOCACHE="$CACHE/gocache" \
     GOMAXPROCS="${GOMAXPROCS:-2}"
   # the OpenAPI definitions are generated, not shipped: as build/root/Makefile.generated_files does, from every
   # package tagged +k8s:openapi-gen (staging packages under their vendor/ names)
   nice -n 19 go build -o "$CACHE/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
   local inputs
   inputs=$(find -H . \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune -o -type f -name '*.go' -print \
     | sed 's|^./staging/src|vendor|; s|^./||' \
     | grep -v '^vendor/k8s.io/code-generator/\|^vendor/k8s.io/sample-apiserver/' \
     | xargs grep -l '^// *+k8s:' | xargs grep -l '+k8s:openapi-gen=' \
     | xargs -n1 dirname | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)
   nice -n 19 "$CACHE/bin/openapi-gen" --logtostderr -i "$inputs" -p k8s.io/kubernetes/pkg/generated/openapi \
     -O zz_generated.openapi -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$CACHE/openapi-violations.report"
   nice -n 19 go build -p "${PGROUTER_K8S_BUILD_JOBS:-1}" -trimpath \
     -ldflags "$ldflags" \
     -o "$APISERVER.part" ./cmd/kube-apiserver) >"$CACHE/build.log" 2>&1 \
    || { tail -20 "$CACHE/build.log" >&2; die "build failed, see $CACHE/build.log"; }
  mv "$APISERVER.part" "$APISERVER"
  rm -rf "$CACHE/src" "$gopath"
  log "built $APISERVER"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

cmd_start() {
  if running kube-apiserver; then log "already running"; echo "$STATE/kubeconfig"; return; fi
  cmd_build
  apt_install
  rm -rf "$STATE" && mkdir -p "$STATE/etcd" "$STATE/pki"
  local etcd_port peer_port port
  etcd_port=$(free_port); peer_port=$(free_port); port=$(free_port)

  # a CA, a serving certificate for 127.0.0.1 and the key pair that signs ServiceAccount tokens
  (cd "$STATE/pki"
   openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pgrouter-test-ca \
     -keyout ca.key -out ca.crt 2>/dev/null
   openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr 2>/dev/null
   printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
   openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
     -extfile san.ext -out apiserver.crt 2>/dev/null
   openssl genrsa -out sa.key 2048 2>/dev/null
   openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null)

  local admin_token router_token
  admin_token=$(openssl rand -hex 24); router_token=$(openssl rand -hex 24)
  cat >"$STATE/tokens.csv" <<EOF
$admin_token,pgrouter-test-admin,pgrouter-test-admin,"system:masters"
$router_token,system:serviceaccount:$NAMESPACE:$SERVICE_ACCOUNT,pgrouter-test-sa,"system:serviceaccounts,system:serviceaccounts:$NAMESPACE"
EOF
  echo "$admin_token" >"$STATE/admin.token"
  echo "$router_token" >"$STATE/router.token"

  setsid etcd --name pgrouter-test --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "pgrouter-test=http://127.0.0.1:$peer_port" \
    --unsafe-no-fsync >"$STATE/etcd.log" 2>&1 </dev/null &
  echo $! >"$STATE/etcd.pid"

  setsid "$APISERVER" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" --insecure-port=0 \
    --tls-cert-file="$STATE/pki/apiserver.crt" --tls-private-key-file="$STATE/pki/apiserver.key" \
    --cert-dir="$STATE/pki" \
    --token-auth-file="$STATE/tokens.csv" --anonymous-auth=false \
    --authorization-mode=RBAC \
    --service-account-key-file="$STATE/pki/sa.pub" \
    --service-account-signing-key-file="$STATE/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.96.0.0/24 \
    --profiling=false >"$STATE/kube-apiserver.log" 2>&1 </dev/null &
  echo $! >"$STATE/kube-apiserver.pid"

  local url=https://127.0.0.1:$port
  cat >"$STATE/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: pgrouter-test
  cluster: {server: "$url", certificate-authority: "$STATE/pki/ca.crt"}
users:
- name: admin
  user: {token: "$admin_token"}
contexts:
- name: pgrouter-test
  context: {cluster: pgrouter-test, user: admin, namespace: $NAMESPACE}
current-context: pgrouter-test
EOF
  echo "$url" >"$STATE/url"
  echo "$NAMESPACE" >"$STATE/namespace"

  for _ in $(seq 1 300); do
    if curl -sf --cacert "$STATE/pki/ca.crt" -H "Authorization: Bearer $admin_token" "$url/readyz" >/dev/null; then
      KUBECONFIG=$STATE/kubeconfig kubectl create namespace "$NAMESPACE" >/dev/null
      log "ready at $url (logs in $STATE)"
      echo "$STATE/kubeconfig"
      return
    fi
    running kube-apiserver || { tail -20 "$STATE/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
    sleep 1
  done
  tail -20 "$STATE/kube-apiserver.log" >&2
  die "kube-apiserver not ready after 300 s"
}

cmd_env() {
  running kube-apiserver || die "not running: $0 start"
  cat <<EOF
export KUBECONFIG=$STATE/kubeconfig
export PGROUTER_K8S_URL=$(cat "$STATE/url")
export PGROUTER_K8S_CA=$STATE/pki/ca.crt
export PGROUTER_K8S_NAMESPACE=$NAMESPACE
export PGROUTER_K8S_ROUTER_TOKEN=$(cat "$STATE/router.token")
EOF
}

cmd_stop() {
  local p
  for p in kube-apiserver etcd; do
    if running "$p"; then
      # a frozen (SIGSTOP) process handles SIGTERM only once continued
      kill -CONT "$(cat "$STATE/$p.pid")"
      kill "$(cat "$STATE/$p.pid")"
      for _ in $(seq 1 50); do running "$p" || break; sleep 0.2; done
      running "$p" && kill -9 "$(cat "$STATE/$p.pid")"
    fi
  done
  rm -rf "$STATE"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  env) cmd_env ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 build|start|env|stop" >&2; exit 2 ;;
esac
