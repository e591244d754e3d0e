#!/usr/bin/env bash
# A real Kubernetes control plane for the orchestrator's tests: etcd, kube-apiserver and
# kube-controller-manager on 127.0.0.1. No kubelet: the tests set pod status themselves.
#
# Debian 12 ships etcd but no API server, so both binaries are built once from Debian's
# `kubernetes` source package and cached; later runs only (re)start what is not running.
# What the tests need (API URL, CA, admin token, kubeconfig) is written to $KUBE_CACHE/env.
set -euo pipefail

KUBE_CACHE=${KUBE_CACHE:-/var/cache/qwickapps/kubernetes}
KUBE_VERSION=v1.20.2
# Changes whenever the way the binaries are built changes, so a cached build is redone.
BUILD_ID="$KUBE_VERSION-2"
API_PORT=6443
ETCD_PORT=2379
BIN=$KUBE_CACHE/bin
PKI=$KUBE_CACHE/pki
RUN=$KUBE_CACHE/run

log() { printf '[kubernetes] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# apt needs a deb-src entry to fetch a source package. Derive one from the machine's own apt
# sources in a private copy, so the system's apt configuration is left untouched.
fetch_source() {
  local apt_dir=$KUBE_CACHE/apt
  mkdir -p "$apt_dir/lists/partial" "$KUBE_CACHE/src"
  local list=$apt_dir/sources.list.d
  rm -rf "$list" && mkdir -p "$list"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] && sed 's/^Types: deb$/Types: deb deb-src/' "$f" >"$list/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] && sed -n 's/^deb \(.*\)$/deb-src \1/p' "$f" >"$list/src-$(basename "$f").list"
  done
  local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$list"
    -o "Dir::State::Lists=$apt_dir/lists")
  apt-get "${opts[@]}" update -qq
  (cd "$KUBE_CACHE/src" && apt-get "${opts[@]}" source --download-only -qq kubernetes)
  local dsc
  dsc=$(ls "$KUBE_CACHE"/src/kubernetes_*.dsc | head -n1)
  rm -rf "$KUBE_CACHE/src/tree"
  # apt checked every file against the signed Sources index; the .dsc's own signature would need
  # the Debian keyring, so dpkg-source does not check it again.
  dpkg-source --no-check -x "$dsc" "$KUBE_CACHE/src/tree" >/dev/null
}

build_binaries() {
  [ "$(cat "$BIN/build-id" 2>/dev/null)" = "$BUILD_ID" ] && return 0
  local started=$SECONDS
  install_packages golang-go golang-github-modern-go-reflect2-dev dpkg-dev make rsync
  [ -d "$KUBE_CACHE/src/tree/cmd/kube-apiserver" ] || fetch_source
  local tree=$KUBE_CACHE/src/tree
  # The vendored reflect2 1.0.1 reads runtime internals that moved in Go 1.18.
  if [ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ]; then
    rm -rf "$tree/vendor/github.com/modern-go/reflect2"
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$tree/vendor/github.com/modern-go/reflect2"
  fi
  export GOPATH=$KUBE_CACHE/gopath GOCACHE=$KUBE_CACHE/go-cache GO111MODULE=off CGO_ENABLED=0
  mkdir -p "$GOPATH/src/k8s.io"
  ln -sfn "$tree" "$GOPATH/src/k8s.io/kubernetes"
  cd "$GOPATH/src/k8s.io/kubernetes"
  log "generating code"
  make generated_files >"$KUBE_CACHE/build.log" 2>&1 || { tail -n 40 "$KUBE_CACHE/build.log"; exit 1; }
  # What /version and --version report: both version packages, as hack/lib/version.sh sets them.
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X k8s.io/kubernetes/vendor/$pkg.gitVersion=$KUBE_VERSION"
    ldflags+=" -X k8s.io/kubernetes/vendor/$pkg.gitMajor=1 -X k8s.io/kubernetes/vendor/$pkg.gitMinor=20"
    ldflags+=" -X k8s.io/kubernetes/vendor/$pkg.gitTreeState=clean"
    ldflags+=" -X k8s.io/kubernetes/vendor/$pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  mkdir -p "$BIN.partial"
  for cmd in kube-apiserver kube-controller-manager; do
    log "building $cmd"
    go build -ldflags "$ldflags" -o "$BIN.partial/$cmd" "k8s.io/kubernetes/cmd/$cmd" >>"$KUBE_CACHE/build.log" 2>&1 ||
      { tail -n 40 "$KUBE_CACHE/build.log"; exit 1; }
  done
  echo "$BUILD_ID" >"$BIN.partial/build-id"
  # Servers still running the old build are restarted with the new one.
  stop_daemon kube-controller-manager
  stop_daemon kube-apiserver
  rm -rf "$BIN" && mv "$BIN.partial" "$BIN"
  cd - >/dev/null
  log "built in $((SECONDS - started)) s"
}

# A CA, the API server's certificate (SAN 127.0.0.1), an admin client certificate, the
# service-account signing key and a token file; made once and kept, so running servers and the
# env file always agree.
make_pki() {
  [ -f "$PKI/done" ] && return 0
  mkdir -p "$PKI" && cd "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=qwickapps-test-ca" \
    -keyout ca.key -out ca.crt 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout server.key -out server.csr 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile server.ext -out server.crt 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=qwickapps-admin" \
    -keyout admin.key -out admin.csr 2>/dev/null
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile client.ext -out admin.crt 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  local admin controller
  admin=$(openssl rand -hex 24)
  controller=$(openssl rand -hex 24)
  printf '%s,qwickapps-admin,qwickapps-admin,"system:masters"\n%s,system:kube-controller-manager,kube-controller-manager,"system:masters"\n' \
    "$admin" "$controller" >tokens.csv
  chmod 600 ./*.key tokens.csv
  printf '%s' "$admin" >admin.token
  printf '%s' "$controller" >controller.token
  chmod 600 admin.token controller.token
  touch done
  cd - >/dev/null
}

# A kubeconfig as kubectl writes one: the CA, the server, one user, the current context.
write_kubeconfig() { # file user-stanza
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: qwickapps-test
    cluster:
      server: https://127.0.0.1:$API_PORT
      certificate-authority: $PKI/ca.crt
users:
  - name: qwickapps-test
    user:
$2
contexts:
  - name: qwickapps-test
    context:
      cluster: qwickapps-test
      user: qwickapps-test
current-context: qwickapps-test
YAML
  chmod 600 "$1"
}

stop_daemon() { # name
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 0
  # A stale pidfile may name another process by now: only the daemon itself is stopped.
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${1:0:15}" ] && kill "$pid" 2>/dev/null; then
    log "stopping $1 ($pid)"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$RUN/$1.pid"
}

start_daemon() { # name port command...
  local name=$1 port=$2
  shift 2
  if port_open "$port"; then
    log "$name already listening on 127.0.0.1:$port"
    return 0
  fi
  log "starting $name"
  mkdir -p "$RUN"
  setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

wait_ready() { # name url...
  local name=$1
  shift
  for _ in $(seq 1 90); do
    if curl -fsS --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(cat "$PKI/admin.token")" "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  echo "$name did not become ready; see $RUN/$name.log" >&2
  tail -n 20 "$RUN/$name.log" >&2 || true
  return 1
}

start_servers() {
  make_pki
  start_daemon etcd "$ETCD_PORT" etcd --name qwickapps-test --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster qwickapps-test=http://127.0.0.1:2380
  for _ in $(seq 1 30); do port_open "$ETCD_PORT" && break; sleep 1; done
  start_daemon kube-apiserver "$API_PORT" "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --secure-port "$API_PORT" --insecure-port 0 \
    --tls-cert-file "$PKI/server.crt" --tls-private-key-file "$PKI/server.key" --client-ca-file "$PKI/ca.crt" \
    --token-auth-file "$PKI/tokens.csv" --authorization-mode RBAC \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=false
  wait_ready kube-apiserver "https://127.0.0.1:$API_PORT/readyz"
  write_kubeconfig "$PKI/controller.kubeconfig" "      token: $(cat "$PKI/controller.token")"
  start_daemon kube-controller-manager 10257 "$BIN/kube-controller-manager" \
    --kubeconfig "$PKI/controller.kubeconfig" --bind-address 127.0.0.1 --port 0 --leader-elect=false \
    --controllers deployment,replicaset,serviceaccount,serviceaccount-token,garbagecollector,namespace \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt"
  wait_ready kube-controller-manager -k "https://127.0.0.1:10257/healthz"
}

write_env() {
  write_kubeconfig "$KUBE_CACHE/admin.kubeconfig" "      client-certificate: $PKI/admin.crt
      client-key: $PKI/admin.key"
  cat >"$KUBE_CACHE/env.partial" <<ENV
KUBE_VERSION=$KUBE_VERSION
KUBE_API_URL=https://127.0.0.1:$API_PORT
KUBE_CA_FILE=$PKI/ca.crt
KUBE_ADMIN_TOKEN=$(cat "$PKI/admin.token")
KUBE_CLIENT_CERT=$PKI/admin.crt
KUBE_CLIENT_KEY=$PKI/admin.key
KUBECONFIG=$KUBE_CACHE/admin.kubeconfig
ENV
  chmod 600 "$KUBE_CACHE/env.partial"
  mv "$KUBE_CACHE/env.partial" "$KUBE_CACHE/env"
}

main() {
  mkdir -p "$KUBE_CACHE"
  install_packages etcd-server openssl curl
  build_binaries
  start_servers
  write_env
  log "ready: $("$BIN/kube-apiserver" --version), env in $KUBE_CACHE/env"
}

main "$@"
