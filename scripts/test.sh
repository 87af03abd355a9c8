#!/usr/bin/env bash
# Pond's whole check, as CI runs it: format, lints, the contracts' native
# tests (motsu, property tests included), the ABI freshness check, the
# WebAssembly build with the 24 KiB size check, and the off-chain stack's
# tests (devnode runs the built contracts; the indexer's tests use SQLite and
# a real PostgreSQL on 127.0.0.1:5432, started here if it is down; the job
# executors' tests build the example jobs for wasm32-wasip1 and run
# containers with podman and runc, installed here if they are missing).
#
# Two cargo workspaces share ./target: contracts/ (on-chain code) and the
# root (off-chain stack); see contracts/Cargo.toml for why.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32 targets and rust-src (for -Zbuild-std)"
rustup target add wasm32-unknown-unknown wasm32-wasip1 >/dev/null
rustup component add rust-src >/dev/null

step "podman, runc and a static busybox (container executor tests)"
missing=""
command -v podman >/dev/null || missing="$missing podman"
command -v runc >/dev/null || missing="$missing runc"
[ -x /bin/busybox ] || missing="$missing busybox-static"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null ||
            { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null; }
    else
        echo "missing:$missing; install them (Debian: sudo apt-get install$missing)"; exit 1
    fi
fi
podman --version

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

step "WebAssembly build, size check, and the checked-in code is fresh"
cargo run -q -p pond-contract-build --bin pond-contract-sizes

# Clients read the chain through pond-bindings only: none of them may link
# the chain simulator, revm, wasmi, the deployment or the contract build.
step "dependency boundaries of the indexer, the API and the bindings"
for crate in pond-bindings pond-indexer pond-graphql; do
    forbidden=$(cargo tree -q -p "$crate" -e normal --prefix none |
        grep -E '^(pond-devnode|revm|wasmi|pond-contract-build|pond-deploy) ' | sort -u || true)
    if [ -n "$forbidden" ]; then
        echo "$crate must not depend on:"; echo "$forbidden"; exit 1
    fi
done

step "PostgreSQL for the indexer's tests (started if not running)"
if ! psql -h 127.0.0.1 -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
    for version in /etc/postgresql/*; do
        pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start
    done
    for _ in $(seq 1 50); do
        psql -h 127.0.0.1 -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
        sleep 0.2
    done
fi
psql -h 127.0.0.1 -U postgres -d postgres -c 'SELECT 1' >/dev/null
# Databases earlier runs' tests created (each test makes its own).
psql -h 127.0.0.1 -U postgres -d postgres -At \
    -c "SELECT datname FROM pg_database WHERE datname LIKE 'pond_test_%'" |
    while read -r db; do psql -h 127.0.0.1 -U postgres -d postgres -q -c "DROP DATABASE \"$db\"" >/dev/null; done

step "off-chain tests (build tool, devnode, Pond on devnode, indexer)"
cargo test --workspace

step "foundry's cast against devnode"
bash scripts/cast-check.sh

step "viem and ethers v6 against devnode"
bash scripts/js-check.sh
