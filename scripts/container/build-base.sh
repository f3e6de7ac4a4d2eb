#!/usr/bin/env bash
# Assemble a local stand-in for the official node:20-bookworm-slim image, for machines that
# cannot pull from a registry: a minimal Debian bookworm (debootstrap --variant=minbase), this
# machine's Node.js 20 binary and npm, and a user `node` with uid 1000. The result is imported
# as $BASE_IMAGE (default localhost/inferd-node-base:20) and is what build-image.sh passes to
# the Dockerfile as BASE_IMAGE. With registry access, skip this and use the default base.
#
# Needs root, debootstrap and podman (or docker, with CONTAINER_ENGINE=docker).
# Environment: BASE_IMAGE, DEBIAN_MIRROR (default: the first Debian mirror apt uses here),
# NODE_BIN (default: `command -v node`), KEEP_ROOTFS=1 to keep the work folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/container/lib.sh
source scripts/container/lib.sh

die() {
  echo "build-base: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install -y debootstrap)"

NODE_BIN="$(readlink -f "${NODE_BIN:-$(command -v node)}")"
[[ -x "$NODE_BIN" ]] || die "no node binary found"
NODE_VERSION="$("$NODE_BIN" --version)"
[[ "$NODE_VERSION" == v20.* ]] || die "node $NODE_VERSION is not Node.js 20"
# npm lives next to node: <prefix>/bin/node and <prefix>/lib/node_modules/npm.
NODE_PREFIX="$(dirname "$(dirname "$NODE_BIN")")"
NPM_DIR="$NODE_PREFIX/lib/node_modules/npm"
[[ -f "$NPM_DIR/bin/npm-cli.js" ]] || die "npm not found at $NPM_DIR"

# The mirror apt already uses (deb822 .sources files or one-line .list files).
if [[ -z "${DEBIAN_MIRROR:-}" ]]; then
  DEBIAN_MIRROR="$(
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
      grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true
  )"
fi
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

ROOTFS="$(mktemp -d /var/tmp/inferd-base.XXXXXX)"
cleanup() {
  if [[ "${KEEP_ROOTFS:-0}" != 1 ]]; then rm -rf "$ROOTFS"; else echo "build-base: kept $ROOTFS"; fi
}
trap cleanup EXIT

echo "build-base: debootstrap bookworm (minbase) from $DEBIAN_MIRROR"
debootstrap --variant=minbase bookworm "$ROOTFS" "$DEBIAN_MIRROR" >/var/tmp/inferd-debootstrap.log 2>&1 ||
  die "debootstrap failed, see /var/tmp/inferd-debootstrap.log"

echo "build-base: adding node $NODE_VERSION and npm $("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" --version)"
# Same layout as the official image: /usr/local/bin/node, npm under /usr/local/lib.
install -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"

# node links only against libc, libstdc++ and libgcc_s, which minbase carries (apt needs
# them); fail here rather than at the first `node` in the image if that ever changes.
# (env -i: nothing from this machine's environment, such as NODE_EXTRA_CA_CERTS, leaks in.)
in_root() { env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin chroot "$ROOTFS" "$@"; }
missing="$(in_root ldd /usr/local/bin/node | grep 'not found' || true)"
[[ -z "$missing" ]] || die "node needs libraries the base lacks: $missing"
in_root node -e 'process.exit(0)' || die "node does not run in the base"

# The user the official image has, and the Dockerfile runs as.
in_root groupadd --gid 1000 node
in_root useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Trim what a runtime base does not need: apt lists and caches, docs, man pages, locales.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
  "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/cache/debconf/*-old
# Point apt at the mirror the image was made from; leave only the deb822 sources file.
printf 'deb %s bookworm main\n' "$DEBIAN_MIRROR" >"$ROOTFS/etc/apt/sources.list"

echo "build-base: importing as $BASE_IMAGE"
tar --numeric-owner -C "$ROOTFS" -c . |
  engine import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${NODE_VERSION#v}" \
    --change 'CMD ["node"]' \
    - "$BASE_IMAGE" >/dev/null
echo "build-base: $BASE_IMAGE $(image_size "$BASE_IMAGE")"
