#!/usr/bin/env bash
# Runs bert_keras.lite.LiteClassifier on TFLite bundles under an emulated arm64 Python and
# compares it with the host's (x86_64) run: token ids, probabilities, labels, timings.
# See --help, and DESIGN.md section 2 for the recipe this script follows.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/check_arm64.sh [options] BUNDLE [BUNDLE...]

Runs bert_keras.lite.LiteClassifier on each TFLite bundle (a directory from
`bert-keras export --format tflite`) twice: with the current `python` (x86_64) and with
an arm64 Debian 12 Python 3.11 under qemu-user (10.x, from bookworm-backports), which
installs the board requirement set: NumPy, ai-edge-litert and bert_keras built as a
pure-Python wheel with BERT_KERAS_LITE_ONLY=1. Then it compares the two runs:

  token ids      identical
  float32/16     probabilities within the tolerance (default 1e-4)
  int8/dynamic   predicted labels equal (arm and x86 integer kernels round differently)

Exits 0 when every bundle matches, 1 on a mismatch, 2 on a usage or setup error.

Everything is installed here, without root rights and without touching the system:
apt-get runs with a private configuration (arm64 packages and qemu are downloaded and
unpacked with dpkg-deb; no binfmt, no chroot), pip installs the aarch64 wheels with
--target. The arm64 root and its site-packages are cached under
${BERT_KERAS_HOME:-$HOME/.cache/bert_keras}/arm64, so a second run only rebuilds the
bert_keras wheel. Both are built in a temporary directory and renamed when complete.

Options:
  --record FILE            write a JSON record (machines, qemu, Python and LiteRT
                           versions, per-bundle results, timings)
  --tolerance T            float probability tolerance (default 1e-4)
  --threads N              LiteRT threads on both sides (default 1)
  --cpu NAME               the emulated CPU (default cortex-a76, a Raspberry Pi 5's;
                           qemu's default "max" has SVE/SME, and XNNPACK's kernels
                           for those run far slower under emulation)
  --no-default-delegates   skip LiteRT's default delegates (XNNPACK) on arm64
  --rebuild                rebuild the cached arm64 root and site-packages
  -h, --help               this help

Environment:
  BERT_KERAS_HOME   cache root (default ~/.cache/bert_keras)
  PYTHON            the x86 interpreter (default: python)
  DEBIAN_MIRROR     Debian mirror (default http://deb.debian.org/debian)
  LITERT_VERSION    ai-edge-litert version for arm64 (default 2.3.0)

Example:
  scripts/check_arm64.sh --record benchmarks/results/arm64_check.json \
      /tmp/arm64/minilm-none /tmp/arm64/minilm-int8
EOF
}

die() { echo "check_arm64: error: $*" >&2; exit 2; }
say() { echo "check_arm64: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LITERT_VERSION=${LITERT_VERSION:-2.3.0}
ARM=${BERT_KERAS_HOME:-$HOME/.cache/bert_keras}/arm64
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# The arm64 root: Python 3.11 and the C++ runtime LiteRT links against; apt resolves the
# rest (libc6, zlib1g, libexpat1, libffi8, libssl3, libgcc-s1, ...).
ROOT_PACKAGES=(python3.11-minimal libpython3.11-stdlib libstdc++6)
ROOT_KEY="bookworm arm64: ${ROOT_PACKAGES[*]}; qemu-user from bookworm-backports"
SITE_REQUIREMENTS="numpy ai-edge-litert==$LITERT_VERSION"
PARTIAL=()  # temporary build directories, removed on exit (renamed away when complete)
PIP_PLATFORMS=(--python-version 3.11 --implementation cp --only-binary=:all:
               --platform manylinux_2_27_aarch64 --platform manylinux2014_aarch64
               --platform manylinux_2_17_aarch64)

parse_args() {
  RECORD="" TOLERANCE=1e-4 THREADS=1 CPU=cortex-a76 NO_DELEGATES="" REBUILD=""
  BUNDLES=()
  while (($#)); do
    case $1 in
      -h|--help) usage; exit 0 ;;
      --record) [[ $# -ge 2 ]] || die "--record needs a file"; RECORD=$2; shift 2 ;;
      --tolerance) [[ $# -ge 2 ]] || die "--tolerance needs a number"; TOLERANCE=$2; shift 2 ;;
      --threads) [[ $# -ge 2 ]] || die "--threads needs a number"; THREADS=$2; shift 2 ;;
      --cpu) [[ $# -ge 2 ]] || die "--cpu needs a name (qemu-aarch64 -cpu help)"; CPU=$2; shift 2 ;;
      --no-default-delegates) NO_DELEGATES=--no-default-delegates; shift ;;
      --rebuild) REBUILD=1; shift ;;
      --) shift; BUNDLES+=("$@"); break ;;
      -*) die "unknown option $1 (see --help)" ;;
      *) BUNDLES+=("$1"); shift ;;
    esac
  done
  ((${#BUNDLES[@]})) || { usage >&2; exit 2; }
  for i in "${!BUNDLES[@]}"; do
    [[ -f ${BUNDLES[i]}/model.tflite ]] ||
      die "${BUNDLES[i]} is not a TFLite bundle (no model.tflite; make one with" \
          "\`bert-keras export --format tflite\`)"
    BUNDLES[i]=$(cd "${BUNDLES[i]}" && pwd)
  done
  [[ $(uname -m) == x86_64 ]] || die "the host must be x86_64 (this is $(uname -m))"
  for tool in apt-get apt-cache dpkg-deb tar sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found (a Debian-family host is needed)"
  done
  [[ -r $KEYRING ]] || die "$KEYRING not found: apt-get install debian-archive-keyring"
  command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH (set PYTHON=...)"
  "$PYTHON" -c "import ai_edge_litert, numpy" 2>/dev/null ||
    die "$PYTHON cannot import ai_edge_litert and numpy: pip install ai-edge-litert numpy"
}

# Sets up a private apt (state, lists, archives under $1) that sees arm64 packages and
# the host's qemu: nothing under /etc/apt or /var/lib/dpkg is read or changed.
private_apt() {
  local dir=$1
  mkdir -p "$dir"/{lists/partial,archives/partial,cache,etc/apt.conf.d,etc/preferences.d}
  mkdir -p "$dir"/{etc/sources.list.d,status}
  : >"$dir/status/status"
  local suite
  for suite in bookworm bookworm-backports; do
    echo "deb [arch=arm64,amd64 signed-by=$KEYRING] $MIRROR $suite main"
  done >"$dir/etc/sources.list"
  cat >"$dir/apt.conf" <<EOF
Dir::State "$dir"; Dir::State::lists "$dir/lists"; Dir::State::status "$dir/status/status";
Dir::Cache "$dir/cache"; Dir::Cache::archives "$dir/archives";
Dir::Etc "$dir/etc"; Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "$dir/etc/sources.list.d"; Dir::Etc::Parts "$dir/etc/apt.conf.d";
Dir::Etc::Preferences "$dir/etc/preferences"; Dir::Etc::PreferencesParts "$dir/etc/preferences.d";
APT::Architecture "arm64"; APT::Architectures { "arm64"; "amd64"; };
APT::Install-Recommends "false"; APT::Sandbox::User "root"; Debug::NoLocking "true";
EOF
}

# Builds $ARM/root (sysroot/ with Python 3.11 for arm64, bin/qemu-aarch64) unless cached.
ensure_root() {
  if [[ -z $REBUILD && -f $ARM/root/KEY && $(<"$ARM/root/KEY") == "$ROOT_KEY" ]]; then
    return
  fi
  say "building the arm64 root in $ARM/root (Debian bookworm, qemu from bookworm-backports)"
  local build apt deb
  build=$(mktemp -d "$ARM/.root.XXXXXX")
  PARTIAL+=("$build")
  apt=$build/apt
  private_apt "$apt"
  if ! APT_CONFIG=$apt/apt.conf apt-get -q update >"$build/apt.log" 2>&1 ||
     ! APT_CONFIG=$apt/apt.conf apt-get -q -y --download-only install \
         "${ROOT_PACKAGES[@]/%/:arm64}" >>"$build/apt.log" 2>&1; then
    tail -20 "$build/apt.log" >&2; rm -rf "$build"; die "apt-get failed (log above)"
  fi
  mkdir -p "$build/sysroot" "$build/bin"
  for deb in "$apt"/archives/*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$build/sysroot"
    basename "$deb" >>"$build/PACKAGES"
  done
  # qemu-user 10 (static, from trixie via backports): bookworm's 7.2 segfaults in LiteRT.
  if ! (cd "$apt" && APT_CONFIG=$apt/apt.conf apt-get -q download \
          qemu-user:amd64/bookworm-backports >>"$build/apt.log" 2>&1); then
    tail -20 "$build/apt.log" >&2; rm -rf "$build"; die "downloading qemu-user failed"
  fi
  deb=$(echo "$apt"/qemu-user_*_amd64.deb)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./usr/bin/qemu-aarch64 >"$build/bin/qemu-aarch64"
  chmod +x "$build/bin/qemu-aarch64"
  basename "$deb" >>"$build/PACKAGES"
  rm -rf "$apt"
  if ! QEMU_LD_PREFIX=$build/sysroot "$build/bin/qemu-aarch64" \
       "$build/sysroot/usr/bin/python3.11" -c "import ssl, ctypes, sqlite3" 2>"$build/run.log"
  then
    cat "$build/run.log" >&2; rm -rf "$build"; die "the arm64 Python does not start"
  fi
  echo "$ROOT_KEY" >"$build/KEY"
  rm -rf "$ARM/root"
  mv "$build" "$ARM/root"
}

# Installs the aarch64 wheels (NumPy, LiteRT and their dependencies) into a cached
# site-packages directory named by the requirement set.
ensure_site() {
  SITE=$ARM/site-$(echo "$SITE_REQUIREMENTS" | sha256sum | cut -c1-12)
  [[ -z $REBUILD && -f $SITE/REQUIREMENTS ]] && return
  say "installing aarch64 wheels into $SITE: $SITE_REQUIREMENTS"
  local build
  build=$(mktemp -d "$ARM/.site.XXXXXX")
  PARTIAL+=("$build")
  # shellcheck disable=SC2086  # the requirement set is a word list
  if ! "$PYTHON" -m pip install --disable-pip-version-check --no-warn-script-location -q \
       --target "$build/lib" "${PIP_PLATFORMS[@]}" $SITE_REQUIREMENTS >"$build/pip.log" 2>&1
  then
    tail -20 "$build/pip.log" >&2; rm -rf "$build"; die "pip could not install the aarch64 wheels"
  fi
  rm "$build/pip.log"
  echo "$SITE_REQUIREMENTS" >"$build/REQUIREMENTS"
  rm -rf "$SITE"
  mv "$build" "$SITE"
}

# Builds bert_keras from the working tree as the board's pure-Python wheel (from a copy,
# so no build/ or egg-info lands in the tree), checks that it requires only NumPy and
# LiteRT, and installs it without dependencies. Cached by a hash of the copied sources.
ensure_wheel() {
  local src=$WORK/src key build wheel requires isolation=()
  mkdir -p "$src"
  (cd "$REPO" && tar -c --exclude=__pycache__ setup.py pyproject.toml README.md bert_keras) |
    tar -x -C "$src"
  key=$(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
  WHEEL_DIR=$ARM/wheels/${key:0:16}
  if [[ -f $WHEEL_DIR/WHEEL ]]; then
    WHEEL_NAME=$(<"$WHEEL_DIR/WHEEL")
    return
  fi
  say "building the bert_keras board wheel (BERT_KERAS_LITE_ONLY=1)"
  # pyproject.toml pins setuptools>=64,<81: reuse this Python's when it fits (no download).
  "$PYTHON" -c "import setuptools, wheel, sys
sys.exit(not 64 <= int(setuptools.__version__.split('.')[0]) < 81)" 2>/dev/null &&
    isolation=(--no-build-isolation)
  mkdir -p "$ARM/wheels"
  build=$(mktemp -d "$ARM/wheels/.build.XXXXXX")
  PARTIAL+=("$build")
  if ! BERT_KERAS_LITE_ONLY=1 "$PYTHON" -m pip wheel --disable-pip-version-check -q \
       --no-deps "${isolation[@]}" "$src" -w "$build/dist" >"$build/log" 2>&1; then
    tail -20 "$build/log" >&2; rm -rf "$build"; die "building the bert_keras wheel failed"
  fi
  wheel=$(echo "$build"/dist/bert_keras-*-py3-none-any.whl)
  [[ -f $wheel ]] || { rm -rf "$build"; die "no pure-Python bert_keras wheel was built"; }
  requires=$("$PYTHON" -c "import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    name = next(n for n in wheel.namelist() if n.endswith('.dist-info/METADATA'))
    lines = wheel.read(name).decode().splitlines()
print(' '.join(sorted(l.split(':', 1)[1].strip() for l in lines
                      if l.startswith('Requires-Dist:'))))" "$wheel")
  if [[ $requires != "ai-edge-litert numpy" ]]; then
    rm -rf "$build"
    die "the BERT_KERAS_LITE_ONLY wheel requires '$requires', not 'ai-edge-litert numpy'"
  fi
  if ! "$PYTHON" -m pip install --disable-pip-version-check -q --no-deps --target \
       "$build/lib" "$wheel" >"$build/log" 2>&1; then
    tail -20 "$build/log" >&2; rm -rf "$build"; die "pip could not install $wheel"
  fi
  WHEEL_NAME=$(basename "$wheel")
  echo "$WHEEL_NAME" >"$build/WHEEL"
  rm -rf "$WHEEL_DIR"
  mv "$build" "$WHEEL_DIR"
  # Keep the five newest wheels (a concurrent run may still be using an older one).
  find "$ARM/wheels" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' |
    sort -rn | tail -n +6 | cut -d' ' -f2- | xargs -r rm -rf
}

main() {
  parse_args "$@"
  mkdir -p "$ARM"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/check_arm64.XXXXXX")
  trap 'rm -rf "$WORK" "${PARTIAL[@]}"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Builds that a killed run (SIGKILL) left behind; a live build is never this old.
  find "$ARM" "$ARM/wheels" -maxdepth 1 -name '.*.*' -mmin +180 -exec rm -rf {} + \
    2>/dev/null || true

  START=$(now)
  ensure_root
  ROOT_SECONDS=$(since "$START")
  START=$(now)
  ensure_site
  SITE_SECONDS=$(since "$START")
  START=$(now)
  ensure_wheel
  WHEEL_SECONDS=$(since "$START")
  QEMU=$ARM/root/bin/qemu-aarch64
  QEMU_VERSION=$("$QEMU" --version | head -1)
  say "$QEMU_VERSION; arm64 root ${ROOT_SECONDS} s, wheels ${SITE_SECONDS} s," \
      "bert_keras wheel ${WHEEL_SECONDS} s"

  PROBE=$REPO/scripts/lite_probe.py
  say "x86_64 run ($PYTHON)"
  START=$(now)
  PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH} TF_CPP_MIN_LOG_LEVEL=3 "$PYTHON" "$PROBE" probe \
    --threads "$THREADS" --out "$WORK/x86.json" "${BUNDLES[@]}" 2> >(grep -v "^INFO:" >&2) ||
    die "the x86_64 run failed (see above)"
  X86_SECONDS=$(since "$START")
  say "arm64 run (qemu-aarch64 -cpu $CPU, Debian python3.11; float32 models are slow here)"
  START=$(now)
  env -i PATH=/usr/bin:/bin HOME="$HOME" LANG=C.UTF-8 PYTHONNOUSERSITE=1 \
    QEMU_LD_PREFIX="$ARM/root/sysroot" QEMU_CPU="$CPU" PYTHONPATH="$WHEEL_DIR/lib:$SITE/lib" \
    "$QEMU" "$ARM/root/sysroot/usr/bin/python3.11" "$PROBE" probe --threads "$THREADS" \
    $NO_DELEGATES --out "$WORK/arm64.json" "${BUNDLES[@]}" 2> >(grep -v "^INFO:" >&2) ||
    die "the arm64 run failed (see above)"
  ARM_SECONDS=$(since "$START")

  "$PYTHON" "$PROBE" compare "$WORK/x86.json" "$WORK/arm64.json" --tolerance "$TOLERANCE" \
    ${RECORD:+--record "$RECORD"} --extra "host=$(uname -m) $(uname -r)" \
    --extra "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
    --extra "qemu=$QEMU_VERSION" --extra "qemu_cpu=$CPU" \
    --extra "root_packages=$(tr '\n' ' ' <"$ARM/root/PACKAGES")" \
    --extra "wheel=$WHEEL_NAME" --extra "site_requirements=$SITE_REQUIREMENTS" \
    --extra "setup_seconds_root=$ROOT_SECONDS" --extra "setup_seconds_site=$SITE_SECONDS" \
    --extra "setup_seconds_wheel=$WHEEL_SECONDS" --extra "x86_wall_seconds=$X86_SECONDS" \
    --extra "arm64_wall_seconds=$ARM_SECONDS"
}

# One line: bash has read all of the script before it runs, so editing it mid-run is safe.
main "$@"; exit
