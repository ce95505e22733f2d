#!/usr/bin/env bash
# Installs what THANOS needs from Debian's packages. Idempotent: does nothing when all are present.
# Run as root on Debian 12 (bookworm) or later.
set -euo pipefail

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
  python3-torch         # HAT checkpoint importer and the PyTorch benchmark peer (/usr/bin/python3)
)

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup.sh: error: apt-get/dpkg not found; THANOS' set-up needs a Debian system (bookworm or later)." >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: error: missing packages (${missing[*]}); run as root (e.g. sudo bash scripts/setup.sh)." >&2
  exit 1
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
echo "setup.sh: done"
