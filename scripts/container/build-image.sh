#!/usr/bin/env bash
# Build the Dockerfile as $IMAGE (default localhost/inferd:dev) on $BASE_IMAGE (default
# localhost/inferd-node-base:20, made by build-base.sh) and print the build time and image size.
# BASE_IMAGE=node:20-bookworm-slim builds on the official image where a registry is reachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/container/lib.sh
source scripts/container/lib.sh

# npm ci in the build stage must trust what this machine trusts: behind a TLS-inspecting proxy
# the host names its CA bundle in NODE_EXTRA_CA_CERTS. Mount that bundle into the RUN steps and
# point the build stage's NODE_EXTRA_CA_CERTS argument at it; the image does not keep it.
ca_args=()
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  ca_args=(--volume "$(readlink -f "$NODE_EXTRA_CA_CERTS"):/run/inferd-build-ca.crt:ro"
    --build-arg NODE_EXTRA_CA_CERTS=/run/inferd-build-ca.crt)
fi

start=$(date +%s)
if [[ "$CONTAINER_ENGINE" == podman ]]; then
  # --format docker: OCI image configs have no HEALTHCHECK, podman would drop it with a warning.
  # --isolation=chroot: RUN steps run in a chroot, not under an OCI runtime. On hosts with a
  #   hybrid cgroup v1/v2 setup and no CAP_SYS_RESOURCE, crun and runc fail every RUN step (see
  #   smoke-test.sh for how `podman run` gets around it).
  # --network=host: RUN steps use the host's network (npm ci reaches the registry) without
  #   needing netavark/CNI to work inside this machine.
  engine build --format docker --isolation=chroot --network=host \
    "${ca_args[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" -f Dockerfile .
else
  "$CONTAINER_ENGINE" build --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" -f Dockerfile .
fi
end=$(date +%s)

echo "build-image: $IMAGE built in $((end - start)) s on $BASE_IMAGE"
echo "build-image: image size $(image_size "$IMAGE")"
