#!/usr/bin/env bash
# Installs what the tests need, then runs every check and test: the README's test command, and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# 1. System packages: Debian's Chromium for the e2e tests, the real Fashion-MNIST for the integration test,
#    and the Vulkan loader, through which Dawn (the npm package webgpu) reaches Chromium's SwiftShader
#    driver so the WebGPU kernels are tested without a GPU.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || need+=(libvulkan1)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  step "apt-get install ${need[*]}"
  sudo=''
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. Node packages, exactly as locked. Electron's postinstall (a binary download) is skipped by
#    package.json's allowScripts; it would fail here and roll the whole install back.
if [ "${SMALLSET_SKIP_NPM_CI:-0}" != 1 ]; then
  step 'npm ci'
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

step 'build (electron-vite: main, preload, renderer)'
npx electron-vite build

step 'typecheck'
npx tsc -p tsconfig.json --noEmit

step 'lint'
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }

mkdir -p test-results
step 'unit and integration tests (vitest)'
unit_rc=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json || unit_rc=$?

step 'e2e tests (Playwright, Debian Chromium, web host)'
e2e_rc=0
CI=1 npx playwright test || e2e_rc=$?

# One closing line for both runners.
node scripts/test-summary.mjs test-results/vitest.json test-results/e2e.json
[ "$unit_rc" = 0 ] && [ "$e2e_rc" = 0 ]
