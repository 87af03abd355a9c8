#!/usr/bin/env bash
# Pond's whole check, as CI runs it: format, lints, the contracts' native
# tests (motsu, property tests included), the ABI freshness check, the
# WebAssembly build with the 24 KiB size check, and the off-chain stack's
# tests (devnode runs the built contracts).
#
# Two cargo workspaces share ./target: contracts/ (on-chain code) and the
# root (off-chain stack); see contracts/Cargo.toml for why.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32 target and rust-src (for -Zbuild-std)"
rustup target add wasm32-unknown-unknown >/dev/null
rustup component add rust-src >/dev/null

step "cargo fmt --check"
cargo fmt --all -- --check
(cd contracts && cargo fmt --all -- --check)

step "cargo clippy (warnings denied)"
(cd contracts && cargo clippy --workspace --all-targets -- -D warnings)
cargo clippy --workspace --all-targets -- -D warnings

# motsu keeps every test thread's VM in one shared map and gives up after
# ten 1 ms retries when another thread holds its shard, so under load
# parallel motsu tests fail spuriously: run them on one thread.
step "contract tests (native, motsu, one thread)"
(cd contracts && RUST_TEST_THREADS=1 cargo test -p pond-contract-tests)

step "other contract tests (common)"
(cd contracts && cargo test --workspace --exclude pond-contract-tests)

step "exported ABIs are fresh"
(cd contracts && cargo test -p pond-abi-export)

step "WebAssembly build and size check"
cargo run -q -p pond-contract-build --bin pond-contract-sizes

step "off-chain tests (build tool, devnode)"
cargo test --workspace

step "foundry's cast against devnode"
bash scripts/cast-check.sh
