# shellcheck shell=bash
# Shared settings for the scripts in scripts/container/ (sourced, not run).
#
# CONTAINER_ENGINE picks the tool: podman (default) or docker. BASE_IMAGE and IMAGE name the
# base image (build-base.sh) and the image (build-image.sh, smoke-test.sh).

BASE_IMAGE="${BASE_IMAGE:-localhost/inferd-node-base:20}"
IMAGE="${IMAGE:-localhost/inferd:dev}"
CONTAINER_ENGINE="${CONTAINER_ENGINE:-podman}"

# Global flags for podman. The default, --cgroup-manager=cgroupfs, works without systemd (a CI
# runner, a VM, a container). Set CONTAINER_ENGINE_FLAGS yourself to change it, e.g. add
# --storage-driver=vfs where the storage folder is itself on overlayfs.
if [[ -z "${CONTAINER_ENGINE_FLAGS+set}" ]]; then
  if [[ "$CONTAINER_ENGINE" == podman ]]; then
    CONTAINER_ENGINE_FLAGS="--cgroup-manager=cgroupfs"
  else
    CONTAINER_ENGINE_FLAGS=""
  fi
fi

engine() {
  # shellcheck disable=SC2086 # the flags are a word list on purpose
  "$CONTAINER_ENGINE" $CONTAINER_ENGINE_FLAGS "$@"
}

image_exists() {
  engine image exists "$1" 2>/dev/null || engine image inspect "$1" >/dev/null 2>&1
}

# Human-readable size of an image, from its inspected byte count.
image_size() {
  local bytes
  bytes="$(engine image inspect --format '{{.Size}}' "$1")"
  awk -v b="$bytes" 'BEGIN { printf "%.0f MB (%d bytes)\n", b / 1000000, b }'
}
