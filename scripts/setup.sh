#!/usr/bin/env bash
# Installs what THANOS needs: Debian's packages, then ONNX Runtime for the Node.js runner
# (tools/ort_runner: `npm ci --ignore-scripts`, the pinned onnxruntime-node from package-lock.json;
# docs/ORT.md). Idempotent: does nothing when everything is present. apt and npm are its only
# network steps. Run as root on Debian 12 (bookworm) or later (root is needed only for apt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_RUNNER="$ROOT/tools/ort_runner"

PACKAGES=(
  g++ cmake ninja-build pkg-config
  libtorch-dev          # tensor/autograd engine (CPU)
  libopenblas0-openmp   # fast BLAS for libtorch; without it matmuls run ~10x slower
  libyaml-cpp-dev       # search spaces and SubTransformer configs (HAT's YAML)
  nlohmann-json3-dev    # JSON reports and configs
  libcli11-dev          # command line
  libgtest-dev          # tests
  sentencepiece         # spm_train/spm_encode/spm_decode: the subword vocabulary (see src/data/subword_model.h)
  zlib1g-dev            # gzip-compressed corpora
  gettext               # msgunfmt, for the bundled corpus from Debian's German message catalogs
  libgloo-dev           # c10d process groups (distributed training)
  libpagmo-dev          # pagmo2's multi-objective building blocks: `thanos search --strategy nsga2`, hypervolume
  libssl-dev            # OpenSSL libcrypto: HMAC-SHA256 challenge-response of `thanos agent` (docs/AGENT.md)
  libonnx-dev           # onnx protobuf classes, checker and shape inference: `thanos export` (docs/EXPORT.md)
  python3-torch         # HAT checkpoint importer and the PyTorch benchmark peer (/usr/bin/python3)
  nodejs npm            # the ONNX Runtime runner (tools/ort_runner, docs/ORT.md)
  chromium              # headless check of report.html in tests (tests/test_report_html.cc)
  clang-14 libfuzzer-14-dev  # the fuzz harnesses (scripts/fuzz.sh; scripts/test.sh runs them briefly)
)

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup.sh: error: apt-get/dpkg not found; THANOS' set-up needs a Debian system (bookworm or later)." >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  # NodeSource's nodejs package bundles npm (and conflicts with Debian's): a working npm will do.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all packages present"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: error: missing packages (${missing[*]}); run as root (e.g. sudo bash scripts/setup.sh)." >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

# ONNX Runtime for the runner: the version package-lock.json pins, without the package's
# post-install download of extra (CUDA) binaries. Skipped when that version is installed.
pinned="$(sed -n 's/.*"onnxruntime-node": *"\([^"]*\)".*/\1/p' "$ORT_RUNNER/package.json" | head -n 1)"
installed=""
if [ -f "$ORT_RUNNER/node_modules/onnxruntime-node/package.json" ]; then
  installed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$ORT_RUNNER/node_modules/onnxruntime-node/package.json" | head -n 1)"
fi
if [ -n "$pinned" ] && [ "$installed" = "$pinned" ]; then
  echo "setup.sh: onnxruntime-node $pinned present"
else
  echo "setup.sh: installing onnxruntime-node ${pinned:-?} into tools/ort_runner/node_modules (npm ci)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --prefix "$ORT_RUNNER" >/dev/null
fi
echo "setup.sh: done"
