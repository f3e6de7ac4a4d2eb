#!/usr/bin/env bash
# Measures GPU against CPU on a machine with an NVIDIA GPU: points the Vulkan loader at the NVIDIA
# driver (for onnxruntime-node's bundled WebGPU provider), installs the CUDA provider when asked,
# and runs `npm run bench:gpu`, which prints the table and writes bench/results/gpu.json.
#
#   scripts/gpu/run-on-gpu.sh [--cuda] [bench:gpu options, e.g. --rounds 5 --window-ms 2000]
#
# --cuda downloads onnxruntime-node's CUDA 12 provider libraries next to its binding (the install
# script fetches them from its release host, so the machine needs that network access; CUDA 12 and
# cuDNN 9 must be installed). Run from a checkout after `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/../.."

cuda=0
args=()
for a in "$@"; do
  if [[ "$a" == "--cuda" ]]; then cuda=1; else args+=("$a"); fi
done

if command -v nvidia-smi >/dev/null; then
  nvidia-smi -L
else
  echo "nvidia-smi not found: no NVIDIA driver here; the WebGPU rows will use whatever Vulkan driver exists" >&2
fi

# The WebGPU provider reaches the GPU through Vulkan: the loader must be installed and find the
# NVIDIA driver's manifest.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  echo "the Vulkan loader (libvulkan.so.1) is missing: apt-get install -y libvulkan1" >&2
fi
if [[ -z "${VK_DRIVER_FILES:-}" ]]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [[ -f "$icd" ]]; then
      export VK_DRIVER_FILES="$icd"
      break
    fi
  done
fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset, the loader defaults}"

if [[ "$cuda" == 1 ]]; then
  echo "installing onnxruntime-node's CUDA 12 provider"
  ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js
fi

npm run bench:gpu -- "${args[@]}"
