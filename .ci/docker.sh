#!/usr/bin/env bash
# A Docker Engine for the Docker orchestrator's tests: Debian's dockerd (20.10) as root with its
# own data root and socket, a local test image built without any outside registry (the machine's
# Node and .ci/docker/release.mjs, imported from a tarball), and Debian's registry on loopback
# with password auth holding that image, for pulls by digest with credentials. Idempotent: a
# running dockerd or registry is reused, and the image is rebuilt only when its contents change.
set -euo pipefail
cd "$(dirname "$0")/.."

SOCKET=/run/qwickapps-docker.sock
DATA_ROOT=/var/lib/qwickapps-docker
EXEC_ROOT=/run/qwickapps-docker
PIDFILE=/run/qwickapps-docker.pid
LOG=/var/log/qwickapps-docker.log
CACHE=/var/cache/qwickapps/docker
IMAGE=qwickapps-test/release:latest
# Test-only credentials of a registry that listens on loopback alone (see test-support/docker-engine.ts).
REGISTRY=127.0.0.1:5077
REGISTRY_ROOT=/var/lib/qwickapps-registry
REGISTRY_USER=qwickapps
REGISTRY_PASSWORD=registry-test-password

engine() { curl -fsS --unix-socket "$SOCKET" "$@"; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-registry >/dev/null 2>&1 ||
  ! command -v htpasswd >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io docker-registry apache2-utils curl >/dev/null
fi

# The pidfile's process, if it is still a dockerd (a stale pidfile may name another process now).
running() { [ -f "$PIDFILE" ] && [ "$(cat "/proc/$(cat "$PIDFILE")/comm" 2>/dev/null)" = dockerd ]; }

# A dockerd that is starting or still shutting down (it gives containers 10 s) is waited for.
for _ in $(seq 1 30); do
  engine http://docker/_ping >/dev/null 2>&1 || ! running || { sleep 1; continue; }
  break
done
if ! engine http://docker/_ping >/dev/null 2>&1; then
  if running; then
    echo "dockerd (pid $(cat "$PIDFILE")) runs but does not answer on $SOCKET; see $LOG" >&2
    exit 1
  fi
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  rm -f "$PIDFILE"
  rm -f "$SOCKET"
  nohup dockerd \
    --data-root "$DATA_ROOT" \
    --exec-root "$EXEC_ROOT" \
    --pidfile "$PIDFILE" \
    -H "unix://$SOCKET" \
    >>"$LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    engine http://docker/_ping >/dev/null 2>&1 && break
    sleep 1
  done
  engine http://docker/_ping >/dev/null || {
    echo "dockerd did not answer on $SOCKET; see $LOG" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  }
fi
engine http://docker/version
echo

# The test image: Node, the libraries it links against, and the release script.
NODE=$(readlink -f "$(command -v node)")
RELEASE=.ci/docker/release.mjs
DIGEST=$( (sha256sum "$NODE" "$RELEASE" | cut -d' ' -f1) | sha256sum | cut -c1-16)
CURRENT=$(engine "http://docker/images/$IMAGE/json" 2>/dev/null |
  sed -n 's/.*"io.qwickapps.test-image":"\([0-9a-f]*\)".*/\1/p' | head -n1 || true)
if [ "$CURRENT" != "$DIGEST" ]; then
  mkdir -p "$CACHE"
  ROOT=$(mktemp -d)
  trap 'rm -rf "$ROOT"' EXIT
  mkdir -p "$ROOT/usr/local/bin" "$ROOT/app" "$ROOT/tmp"
  cp "$NODE" "$ROOT/usr/local/bin/node"
  cp "$RELEASE" "$ROOT/app/server.mjs"
  for library in $(ldd "$NODE" | grep -o '/[^ ]*'); do
    mkdir -p "$ROOT$(dirname "$library")"
    cp -L "$library" "$ROOT$library"
  done
  tar -C "$ROOT" -czf "$CACHE/release-$DIGEST.tar.gz" .
  CHANGES=$(printf '%s\n' \
    'CMD ["/usr/local/bin/node", "/app/server.mjs"]' \
    'ENV PORT=3000' \
    'EXPOSE 3000' \
    "LABEL io.qwickapps.test-image=$DIGEST" |
    while IFS= read -r change; do
      printf '&changes=%s' "$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$change")"
    done)
  # The Engine answers 200 and reports a failed import inside its progress stream.
  PROGRESS=$(engine -X POST --data-binary "@$CACHE/release-$DIGEST.tar.gz" \
    -H 'content-type: application/x-tar' \
    "http://docker/images/create?fromSrc=-&repo=qwickapps-test/release&tag=latest$CHANGES")
  if printf '%s' "$PROGRESS" | grep -q '"error'; then
    echo "docker import failed: $PROGRESS" >&2
    exit 1
  fi
  find "$CACHE" -name 'release-*.tar.gz' ! -name "release-$DIGEST.tar.gz" -delete
fi
echo "test image $IMAGE ($DIGEST)"

# The registry, and the test image pushed to it (pushing what it already holds changes nothing).
if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/")" != 401 ]; then
  mkdir -p "$REGISTRY_ROOT/data"
  htpasswd -Bbc "$REGISTRY_ROOT/htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null
  cat >"$REGISTRY_ROOT/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_ROOT/data
http:
  addr: $REGISTRY
auth:
  htpasswd:
    realm: qwickapps-test
    path: $REGISTRY_ROOT/htpasswd
YAML
  nohup docker-registry serve "$REGISTRY_ROOT/config.yml" >>/var/log/qwickapps-registry.log 2>&1 </dev/null &
  for _ in $(seq 1 30); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/")" = 401 ] && break
    sleep 1
  done
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/")" != 401 ]; then
    echo "the registry did not come up on $REGISTRY:" >&2
    tail -n 20 /var/log/qwickapps-registry.log >&2 || true
    exit 1
  fi
fi
AUTH=$(printf '{"username":"%s","password":"%s","serveraddress":"%s"}' \
  "$REGISTRY_USER" "$REGISTRY_PASSWORD" "$REGISTRY" | base64 -w0 | tr '+/' '-_')
engine -X POST "http://docker/images/$IMAGE/tag?repo=$REGISTRY/qwickapps/release&tag=latest"
PUSHED=$(engine -X POST -H "X-Registry-Auth: $AUTH" \
  "http://docker/images/$REGISTRY/qwickapps/release/push?tag=latest")
if printf '%s' "$PUSHED" | grep -q '"error'; then
  echo "push to the test registry failed: $PUSHED" >&2
  exit 1
fi
echo "test registry $REGISTRY: $(printf '%s' "$PUSHED" | grep -o 'sha256:[0-9a-f]*' | tail -n1)"
