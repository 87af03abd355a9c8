#!/usr/bin/env bash
# devnode's benchmark: builds release binaries, fetches a pinned anvil from
# npm for the side-by-side numbers, prints a markdown table (copy it into
# docs/benchmarks.md with the date and the machine).
set -euo pipefail
cd "$(dirname "$0")/.."

ANVIL_VERSION=1.7.1
TOOLS=target/npm
ANVIL=$TOOLS/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
if [ ! -x "$ANVIL" ]; then
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --silent --no-audit --no-fund \
        "@foundry-rs/anvil-linux-amd64@$ANVIL_VERSION" >/dev/null
fi
cargo build -q --release -p pond-devnode --bin devnode
ANVIL="$PWD/$ANVIL" DEVNODE="$PWD/target/release/devnode" \
    cargo run -q --release -p pond-deploy --example devnode_bench
