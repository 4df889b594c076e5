#!/usr/bin/env bash
# Installs what Neuroverse Workstation needs on a fresh Debian/Ubuntu machine, then builds it.
#
#   bash scripts/setup.sh                  app: Chromium (browser host), npm packages, build
#   bash scripts/setup.sh --with-test-deps also the tools the tests cross-check against
#                                          (nibabel, pydicom, PyTorch for the model fixtures, pytest)
#   --no-apt                               skip system packages (already installed, or not root)
#
# Where things go: system packages via apt (/usr/bin/chromium, Debian's python3-* modules);
# npm packages in ./node_modules; the build in ./dist. The Electron binary and ONNX Runtime's CUDA
# provider are downloads from outside the npm registry: they are tried, and skipped with a message
# where the machine cannot reach them (the app then runs in the browser host, on the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."

with_test_deps=0
use_apt=1
for arg in "$@"; do
  case "$arg" in
    --with-test-deps) with_test_deps=1 ;;
    --no-apt) use_apt=0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }

if [ "$use_apt" = 1 ]; then
  packages=(chromium)
  if [ "$with_test_deps" = 1 ]; then
    packages+=(python3-nibabel python3-pydicom python3-numpy python3-scipy python3-torch python3-onnx python3-pytest dicom3tools dcmtk orthanc orthanc-dicomweb)
  fi
  missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "apt: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's orthanc package starts a system PACS listening on every interface. The tests run their
    # own Orthanc in a private network namespace; the system one must not expose anything.
    if printf '%s\n' "${missing[@]}" | grep -qx orthanc; then
      $SUDO systemctl disable --now orthanc >/dev/null 2>&1 || $SUDO service orthanc stop >/dev/null 2>&1 || true
    fi
  else
    say "apt: ${packages[*]} already installed"
  fi
fi

say "npm: installing packages (Electron binary and CUDA provider deferred)"
export ELECTRON_SKIP_BINARY_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

say "Electron binary"
if timeout 180 env -u ELECTRON_SKIP_BINARY_DOWNLOAD node node_modules/electron/install.js >/tmp/neuroverse-electron-install.log 2>&1 \
   && node -e "require('electron')" >/dev/null 2>&1; then
  echo "installed: npm start will open the desktop app"
else
  echo "not installed (download unreachable: $(grep -m1 -i error /tmp/neuroverse-electron-install.log | cut -c1-120))"
  echo "npm start will use the browser host in Chromium's app mode instead"
fi

say "ONNX Runtime execution providers"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  if timeout 300 env ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install >/tmp/neuroverse-ort-install.log 2>&1; then
    echo "CUDA provider installed"
  else
    echo "CUDA provider not installed (download failed: $(grep -m1 -i error /tmp/neuroverse-ort-install.log | cut -c1-120)); inference runs on the CPU"
  fi
else
  echo "no NVIDIA GPU found: CPU provider only"
fi

say "build"
npm run build --silent
echo "setup done"
