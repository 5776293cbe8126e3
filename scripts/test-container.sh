#!/usr/bin/env bash
# Build the image and check it serves: /ping, one invocation and the demo page, started both as
# `docker run IMAGE` and as SageMaker does, `docker run IMAGE serve`; then as the Kubernetes
# manifests run it (deploy/k8s/): uid/gid 1000, a read-only root filesystem with only /tmp
# writable, no capabilities, no-new-privileges, /metrics on its own port and no demo page.
# It also checks what the manifests' preStop needs (sleep) and that npm, npx and corepack are gone.
# Uses docker when a Docker engine answers, else buildah (daemonless, vfs storage, chroot
# isolation). With buildah and no registry, the base image can come from a script outside this
# repository, NODE_BASE_MAKER (default ../shared/tools/make-node-base-image.sh: a local stand-in
# for the Dockerfile's NODE_IMAGE, with the official Node binary of that version from npm);
# the script says when it uses it.
# Prints the image's size and fails above MAX_IMAGE_MB (450, as docker/buildah count: 10^6 bytes).
set -euo pipefail
cd "$(dirname "$0")/.."
image=localhost/image-classification:test
port=${PORT:-18080}
base=$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)
max_mb=${MAX_IMAGE_MB:-450}
node_version=${base#node:}
node_version=${node_version%%-*}

node_check() {
  echo "node in the image: $1"
  [ "$1" = "v${node_version}" ] || { echo "FAIL: the image runs node $1, the Dockerfile names ${node_version}" >&2; return 1; }
}

# "751 MB" / "1.2 GB" / "900 kB" (decimal units, as both engines print them) → whole MB.
size_check() {
  local human="$1" mb
  mb=$(echo "$human" | awk '{ f = ($2 == "GB") ? 1000 : ($2 == "kB") ? 0.001 : 1; printf "%d", $1 * f + 0.5 }')
  echo "image size: ${mb} MB (limit ${max_mb} MB)"
  [ "$mb" -le "$max_mb" ] || { echo "FAIL: image is ${mb} MB, over ${max_mb} MB" >&2; return 1; }
}

# check LABEL [restricted]: /ping, an invocation, the demo page; restricted: no demo page, /metrics on METRICS_PORT.
check() {
  local label="$1" mode="${2:-}"
  for _ in $(seq 1 120); do curl -sf "localhost:${port}/ping" >/dev/null && break; sleep 0.5; done
  curl -sf "localhost:${port}/ping" | grep -q '"healthy"' || { echo "FAIL ${label}: /ping never healthy" >&2; return 1; }
  local answer
  answer=$(curl -sf --data-binary @data/paper.jpg -H 'Content-Type: application/x-image' "localhost:${port}/invocations")
  echo "$answer" | grep -q '"class":"paper"' || { echo "FAIL ${label}: $answer" >&2; return 1; }
  if [ "$mode" = restricted ]; then
    [ "$(curl -s -o /dev/null -w '%{http_code}' "localhost:${port}/")" = 404 ] || { echo "FAIL ${label}: the demo page is on" >&2; return 1; }
    # Read whole first: grep -q would stop reading, and curl's broken pipe fail the pipeline.
    local metrics
    if ! metrics=$(curl -sf "localhost:${metrics_port}/metrics") || ! grep -q '^# TYPE' <<<"$metrics"; then
      echo "FAIL ${label}: no /metrics on ${metrics_port}" >&2
      return 1
    fi
  else
    curl -sf "localhost:${port}/" | grep -q '<title>Image classifier</title>' || { echo "FAIL ${label}: no demo page on /" >&2; return 1; }
  fi
  echo "ok ${label}: ${answer}"
}

# The pod's settings (deploy/k8s/plain/deployment.yaml), as environment variables.
metrics_port=${METRICS_PORT:-19090}
pod_env=("SAGEMAKER_BIND_TO_PORT=${port}" "SAGEMAKER_MODEL_SERVER_WORKERS=2" "MODEL_SERVER_METRICS_PORT=${metrics_port}" "MODEL_SERVER_DEMO_PAGE=false")

# Another server on these ports would answer the checks in the container's place.
for p in "$port" "$metrics_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${p}") 2>/dev/null; then
    echo "FAIL: port ${p} is in use; set PORT and METRICS_PORT to free ones" >&2
    exit 1
  fi
done

if docker info >/dev/null 2>&1; then
  docker build -t "$image" .
  size_check "$(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
  node_check "$(docker run --rm --entrypoint node "$image" --version)"
  for args in "" "serve"; do
    # shellcheck disable=SC2086 # $args is empty or one word on purpose
    id=$(docker run -d -p "${port}:8080" "$image" $args)
    check "docker run IMAGE ${args}" || { docker logs "$id"; docker rm -f "$id"; exit 1; }
    docker rm -f "$id" >/dev/null
  done
  label="uid 1000, read-only root, /tmp tmpfs, no capabilities"
  id=$(docker run -d --network host --user 1000:1000 --read-only --tmpfs /tmp:size=256m --cap-drop ALL \
    --security-opt no-new-privileges "${pod_env[@]/#/--env=}" "$image")
  docker exec "$id" sh -c '[ "$(id -u):$(id -g)" = 1000:1000 ] && ! touch /opt/program/probe 2>/dev/null && touch /tmp/probe && sleep 0 \
    && ! command -v npm >/dev/null && ! command -v npx >/dev/null && ! command -v corepack >/dev/null' \
    || { echo "FAIL ${label}: not uid 1000, root writable, /tmp not, no sleep, or a package manager present" >&2; docker rm -f "$id"; exit 1; }
  check "$label" restricted || { docker logs "$id"; docker rm -f "$id"; exit 1; }
  docker rm -f "$id" >/dev/null
  echo "verified with docker"
  exit 0
fi

command -v buildah >/dev/null || { echo "neither a Docker engine nor buildah is available" >&2; exit 1; }
bah=(buildah --storage-driver vfs)
if ! "${bah[@]}" inspect "docker.io/library/${base}" >/dev/null 2>&1; then
  maker=${NODE_BASE_MAKER:-../shared/tools/make-node-base-image.sh}
  [ -f "$maker" ] || { echo "base image ${base} is not in buildah's storage and cannot be pulled; set NODE_BASE_MAKER to a script that builds it (not found: ${maker})" >&2; exit 1; }
  echo "base image ${base} not in buildah's storage: building a stand-in with ${maker} (outside this repository)"
  NODE_MAJOR=${node_version} bash "$maker" "docker.io/library/${base}"
fi
"${bah[@]}" bud --isolation chroot --pull=never -t "$image" .
size_check "$("${bah[@]}" images --format '{{.Size}}' "$image")"
ctr=$("${bah[@]}" from "$image")
node_check "$("${bah[@]}" run --isolation chroot "$ctr" -- node --version)"
"${bah[@]}" rm "$ctr" >/dev/null
entrypoint=$("${bah[@]}" inspect --format '{{.OCIv1.Config.Entrypoint}}' "$image")
[ "$entrypoint" = '[/usr/bin/tini -- serve]' ] || { echo "FAIL: ENTRYPOINT is ${entrypoint}" >&2; exit 1; }
"${bah[@]}" inspect --format '{{.OCIv1.Config.Labels}}' "$image" | grep -q 'accept-bind-to-port:true' || { echo "FAIL: SageMaker label missing" >&2; exit 1; }
"${bah[@]}" inspect --format '{{.OCIv1.Config.Labels}}' "$image" | grep -q 'multi-models:true' || { echo "FAIL: multi-model label missing" >&2; exit 1; }
# buildah run ignores ENTRYPOINT, so spell out what docker would execute: ENTRYPOINT + args.
# Each run gets its own session (setsid), and only that process group is stopped: other
# serve or nginx processes on this machine are never touched.
# SIGTERM goes to tini alone, as `docker stop` sends it to the container's PID 1: buildah, when
# signalled itself, kills its child at once, and serve (in a process group of its own under tini)
# could be left running without its drain. After the stop, nothing of the run may hold the port.
stop_group() {
  local group="$1" init
  init=$(pgrep -s "$group" -x tini || true)
  if [ -n "$init" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $init 2>/dev/null || true
  else
    kill -TERM -- "-${group}" 2>/dev/null || true
  fi
  local stopped=false
  for _ in $(seq 1 80); do
    if ! kill -0 -- "-${group}" 2>/dev/null; then stopped=true; break; fi
    sleep 0.25
  done
  $stopped || kill -KILL -- "-${group}" 2>/dev/null || true
  if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
    echo "FAIL: port ${port} still answers after the container was stopped" >&2
    return 1
  fi
}
for cmd in "/usr/bin/tini -- serve" "/usr/bin/tini -- serve serve"; do
  ctr=$("${bah[@]}" from "$image")
  # shellcheck disable=SC2086 # $cmd is several words on purpose
  setsid "${bah[@]}" run --isolation chroot --network host --env "SAGEMAKER_BIND_TO_PORT=${port}" "$ctr" -- $cmd &
  runner=$!
  ok=true
  check "container: ${cmd}" || ok=false
  stop_group "$runner" || ok=false
  wait "$runner" 2>/dev/null || true
  "${bah[@]}" rm "$ctr" >/dev/null
  $ok || exit 1
done

# As a restricted pod: buildah run can change the user but has no read-only root, so the image's
# root is mounted here read-only, by hand, in a mount and PID namespace of its own (unshare), with
# a tmpfs on /tmp, and the server starts in it through chroot as uid/gid 1000, with the
# environment the image declares and the no_new_privs bit; a non-root uid holds no capabilities.
ctr=$("${bah[@]}" from "$image")
root=$("${bah[@]}" mount "$ctr")
mapfile -t image_env < <("${bah[@]}" inspect --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$image" | sed '/^$/d')
home=$(awk -F: '$3 == 1000 { print $6 }' "${root}/etc/passwd"); home=${home:-/}
# Call it in a subshell: it execs, so the subshell's PID becomes the new session's (stop_group).
restricted() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  exec setsid unshare --mount --pid --fork --kill-child sh -c '
    set -e
    root=$1; shift
    mount --bind "$root" "$root"
    mount -o remount,bind,ro "$root"
    mount -t tmpfs -o size=256m,mode=1777 tmpfs "$root/tmp"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    exec setpriv --no-new-privs chroot --userspec=1000:1000 "$root" /usr/bin/env -i "$@"' \
    sh "$root" "${image_env[@]}" "HOME=${home}" "${pod_env[@]}" "$@"
}
label="uid 1000, read-only root, /tmp tmpfs, no capabilities"
# shellcheck disable=SC2016 # expanded by the shell in the container
(restricted sh -c '[ "$(id -u):$(id -g)" = 1000:1000 ] && ! touch /opt/program/probe 2>/dev/null && touch /tmp/probe && sleep 0 \
  && ! command -v npm >/dev/null && ! command -v npx >/dev/null && ! command -v corepack >/dev/null') \
  || { echo "FAIL ${label}: not uid 1000, root writable, /tmp not, no sleep, or a package manager present" >&2; exit 1; }
(restricted /usr/bin/tini -- serve) &
runner=$!
ok=true
check "$label" restricted || ok=false
stop_group "$runner" || ok=false
wait "$runner" 2>/dev/null || true
"${bah[@]}" umount "$ctr" >/dev/null
"${bah[@]}" rm "$ctr" >/dev/null
$ok || exit 1
echo "verified with buildah $(buildah --version | awk '{print $3}') (chroot isolation; no Docker engine here)"
