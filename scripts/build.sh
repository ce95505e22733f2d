#!/usr/bin/env bash
# Configures and builds THANOS into ./build (incremental). `--target NAME` builds one target (the
# demo builds only `thanos`); `--build-dir DIR` builds elsewhere (the sanitizer build); other
# arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
target=()
configure=()
dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=(--target "$2"); shift 2 ;;
    --build-dir) dir="$2"; shift 2 ;;
    *) configure+=("$1"); shift ;;
  esac
done
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${configure[@]}"
elif [ ${#configure[@]} -gt 0 ]; then
  cmake -S . -B "$dir" "${configure[@]}"
fi
cmake --build "$dir" --parallel "$(nproc)" "${target[@]}"
