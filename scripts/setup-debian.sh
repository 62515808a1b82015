#!/usr/bin/env bash
# Installs everything torchgraft needs on a fresh Debian 12 machine (system packages, then npm dependencies and the build).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# libtorch-dev: LibTorch 1.13 (CPU); libopenblas0-pthread: ~20x faster CPU matmul than the reference BLAS;
# python3-torch: PyTorch for the golden tests and benchmarks; python3-h5py: reference reads of Keras .h5 files in the
# foreign-format tests (skipped without it); cmake/g++/ccache: the native build; libgloo-dev: Gloo headers for tg.distributed.
# python3-torchvision, python3-pil: references for the image transforms, the model builders and image decoding.
# chromium: the plot test renders the training-curve page headless and checks the screenshot.
$SUDO apt-get install -y --no-install-recommends libtorch-dev libopenblas0-pthread python3-torch python3-numpy python3-h5py python3-torchvision python3-pil libgloo-dev chromium cmake g++ make ccache ca-certificates
if ! command -v node >/dev/null || [[ $(node -p 'process.versions.node.split(".")[0]') -lt 18 ]]; then
  $SUDO apt-get install -y --no-install-recommends nodejs npm
fi
if [[ -f package-lock.json ]]; then npm ci; else npm install; fi
