#!/usr/bin/env bash
# Builds the bundled English-German corpus (docs/CORPUS.md) from the German message catalogs of a
# fixed list of Debian packages: `apt-get download` (nothing is installed), `dpkg -x`, then
# `thanos corpus`. Usage: scripts/build-corpus.sh [OUT_DIR]   (default: data/corpus-en-de)
# Idempotent: an existing complete corpus for the same package list is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

# The corpus is defined by this list (and the package versions apt serves, recorded in the
# manifest). Changing it changes the corpus; docs/CORPUS.md lists what each package brings.
PACKAGES=(gcc-12-locales gimp-data inkscape iso-codes libreoffice-l10n-de)
# Per mille of split keys for test and valid (the rest is train): ~1,000 test pairs, ~350 valid.
TEST_PERMILLE=30
VALID_PERMILLE=10

OUT=${1:-data/corpus-en-de}
THANOS=${THANOS:-build/thanos}  # another build: THANOS=build-dbg/thanos scripts/build-corpus.sh

complete() {  # manifest present, every split file as long as the manifest says, same packages
  local m="$1/manifest.json" s n lang
  [ -f "$m" ] || return 1
  for s in train valid test; do
    n=$(grep -o "\"$s\": [0-9]*" "$m" | head -n 1 | awk '{print $2}')
    [ -n "$n" ] || return 1
    for lang in en de; do
      [ -f "$1/$s.$lang" ] && [ "$(wc -l <"$1/$s.$lang")" -eq "$n" ] || return 1
    done
  done
  for s in "${PACKAGES[@]}"; do
    grep -q "\"name\": \"$s\"" "$m" || return 1
  done
  # A corpus split by another rule (an older default) is rebuilt.
  grep -q "% 1000: < $TEST_PERMILLE test, < $((TEST_PERMILLE + VALID_PERMILLE)) valid" "$m" || return 1
}

if complete "$OUT"; then
  echo "build-corpus.sh: $OUT is complete (see $OUT/manifest.json); nothing to do"
  exit 0
fi
if [ ! -x "$THANOS" ]; then
  echo "build-corpus.sh: error: $THANOS not found; run scripts/build.sh first" >&2
  exit 1
fi
if ! "$THANOS" corpus --help >/dev/null 2>&1; then
  echo "build-corpus.sh: error: $THANOS has no 'corpus' subcommand (an older build?); run scripts/build.sh" >&2
  exit 1
fi
for tool in apt-get dpkg dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-corpus.sh: error: $tool not found; the corpus is built from Debian packages (Debian 12 or later)" >&2
    exit 1
  fi
done

# apt-get download needs the package lists; a fresh container has none.
if ! apt-cache show "${PACKAGES[0]}" >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "build-corpus.sh: apt package lists missing; running apt-get update"
    apt-get update -qq
  else
    echo "build-corpus.sh: error: apt does not know ${PACKAGES[0]} (package lists missing?); run 'apt-get update'" \
         "as root, or run this script as root" >&2
    exit 1
  fi
fi

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/thanos-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/unpacked"
# As root, apt downloads as its sandbox user _apt, which must be able to write the folder.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
  chmod 755 "$work"
  chown _apt "$work/debs"
fi
echo "build-corpus.sh: downloading ${PACKAGES[*]}"
(cd "$work/debs" && apt-get download -q "${PACKAGES[@]}")

: >"$work/packages.txt"
for deb in "$work"/debs/*.deb; do
  name=$(dpkg-deb -f "$deb" Package)
  version=$(dpkg-deb -f "$deb" Version)
  echo "$name $version" >>"$work/packages.txt"
  dpkg -x "$deb" "$work/unpacked/$name"
done
echo "build-corpus.sh: packages:"
sed 's/^/  /' "$work/packages.txt"

mkdir -p "$(dirname "$OUT")"
"$THANOS" corpus --unpacked "$work/unpacked" --packages-file "$work/packages.txt" --out "$OUT" \
  --test-permille "$TEST_PERMILLE" --valid-permille "$VALID_PERMILLE"
echo "build-corpus.sh: done in $(($(date +%s) - start)) s: $OUT"
