#!/usr/bin/env bash
# viem and ethers v6 (from npm, pinned) against devnode: see
# scripts/js-check.mjs for what they check. Fails on the first wrong answer.
set -euo pipefail
cd "$(dirname "$0")/.."

VIEM_VERSION=2.57.20
ETHERS_VERSION=6.17.0
TOOLS=target/npm-js
if [ ! -f "$TOOLS/node_modules/viem/package.json" ] || [ ! -f "$TOOLS/node_modules/ethers/package.json" ] ||
    ! grep -q "\"version\": \"$VIEM_VERSION\"" "$TOOLS/node_modules/viem/package.json"; then
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --silent --no-audit --no-fund \
        "viem@$VIEM_VERSION" "ethers@$ETHERS_VERSION" >/dev/null
fi
# ES modules resolve packages next to the importing file.
cp scripts/js-check.mjs "$TOOLS/js-check.mjs"

. scripts/devnode-start.sh
if ! DEVNODE_URL="http://127.0.0.1:$PORT" timeout 120 node "$TOOLS/js-check.mjs"; then
    echo "js-check failed; devnode's log:" >&2
    cat "$LOG" >&2
    exit 1
fi
