#!/usr/bin/env bash
# `npm run test:container`: build the local base image if it is missing, build the image, run
# the smoke test. BASE_IMAGE=node:20-bookworm-slim skips the local base where a registry works.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/container/lib.sh
source scripts/container/lib.sh

if [[ "$BASE_IMAGE" == localhost/* ]] && ! image_exists "$BASE_IMAGE"; then
  scripts/container/build-base.sh
fi
scripts/container/build-image.sh
scripts/container/smoke-test.sh
