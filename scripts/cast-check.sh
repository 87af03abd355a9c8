#!/usr/bin/env bash
# A standard client nobody here wrote, against devnode: foundry's `cast`
# (from its npm package) reads balances, sends a transfer, deploys a
# contract, reads a receipt, replays a transaction (`cast run`), calls the ArbWasm precompile, reads logs, storage and block
# hashes older than ArbSys serves, proofs and code hashes, builds an access
# list, asks NodeInterface
# and uses a dev control. Fails on the first wrong answer.
set -euo pipefail
cd "$(dirname "$0")/.."

CAST_VERSION=1.7.1
TOOLS=target/npm
CAST=$TOOLS/node_modules/@foundry-rs/cast-linux-amd64/bin/cast
if [ ! -x "$CAST" ]; then
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --silent --no-audit --no-fund \
        "@foundry-rs/cast-linux-amd64@$CAST_VERSION" >/dev/null
fi

. scripts/devnode-start.sh
export ETH_RPC_URL="http://127.0.0.1:$PORT"

fail() { echo "cast-check: $*" >&2; cat "$LOG" >&2; exit 1; }
expect() { # expect NAME ACTUAL WANTED
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
    echo "ok  $1"
}

KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
NITRO_DEV=0x3f1Eae7D46d88F08fc2F8ed27FCb2AB183EB2d0E
TO=0x0000000000000000000000000000000000004242

expect "chain id" "$("$CAST" chain-id)" "412346"
expect "dev balance" "$("$CAST" balance "$NITRO_DEV")" "10000000000000000000000"

STATUS=$("$CAST" send --private-key "$KEY" "$TO" --value 1234 --json | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["status"], 16))')
expect "send status" "$STATUS" "1"
expect "received" "$("$CAST" balance "$TO")" "1234"

# EVM runtime: LOG1 with the first calldata word as topic.
INIT=0x600980600c6000396000f30060003560006000a100
CREATED=$("$CAST" send --private-key "$KEY" --create "$INIT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["contractAddress"])')
expect "deployed code" "$("$CAST" code "$CREATED")" "0x60003560006000a100"
expect "codehash (eth_getProof)" "$("$CAST" codehash "$CREATED")" "$("$CAST" keccak 0x60003560006000a100)"
PROOF=$("$CAST" proof "$CREATED" 0 | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["storageHash"], p["nonce"], len(p["accountProof"]) > 0, p["storageProof"][0]["value"])')
expect "proof" "$PROOF" "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421 0x1 True 0x0"

TOPIC=0x00000000000000000000000000000000000000000000000000000000000000aa
EMIT_TX=$("$CAST" send --private-key "$KEY" "$CREATED" "$TOPIC" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["transactionHash"])')
expect "receipt" "$("$CAST" receipt "$EMIT_TX" status)" "true"
# `cast run` replays the transaction in its own EVM from the node's state
# at the block before.
RUN=$("$CAST" run "$EMIT_TX" 2>&1) || fail "cast run failed: $RUN"
case "$RUN" in *"Transaction successfully executed"*) ;; *) fail "cast run did not replay $EMIT_TX: $RUN" ;; esac
echo "ok  run"
LOGS=$("$CAST" logs --from-block 0 --address "$CREATED" --json | python3 -c 'import json,sys; print(",".join(l["topics"][0] for l in json.load(sys.stdin)))')
expect "logs" "$LOGS" "$TOPIC"

expect "ArbWasm stylusVersion" "$("$CAST" call 0x0000000000000000000000000000000000000071 'stylusVersion()(uint16)')" "2"
expect "ArbSys arbChainID" "$("$CAST" call 0x0000000000000000000000000000000000000064 'arbChainID()(uint256)' | cut -d' ' -f1)" "412346"
# EVM runtime: SLOAD(7), BALANCE(TO). `cast access-list` names both.
PROBE=$("$CAST" send --private-key "$KEY" --create 0x601c80600c6000396000f30060075450730000000000000000000000000000000000004242315000 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["contractAddress"])')
LIST=$("$CAST" access-list "$PROBE" --json | python3 -c '
import json,sys
answer = json.load(sys.stdin)
print(";".join(i["address"].lower() + ":" + ",".join(i["storageKeys"]) for i in answer["accessList"]))')
expect "access-list" "$LIST" "0x0000000000000000000000000000000000004242:;$(echo "$PROBE" | tr 'A-F' 'a-f'):0x0000000000000000000000000000000000000000000000000000000000000007"
expect "storage" "$("$CAST" storage "$PROBE" 7)" "0x0000000000000000000000000000000000000000000000000000000000000000"
"$CAST" rpc anvil_setBalance "$TO" 0x10 >/dev/null
expect "rpc anvil_setBalance" "$("$CAST" balance "$TO")" "16"
BLOCK1=$("$CAST" block 1 --field hash)
expect "EIP-2935 history" "$("$CAST" call 0x0000F90827F1C53a10cb7A02335B175320002935 0x0000000000000000000000000000000000000000000000000000000000000001)" "$BLOCK1"
expect "NodeInterface nitroGenesisBlock" "$("$CAST" call 0x00000000000000000000000000000000000000c8 'nitroGenesisBlock()(uint256)')" "0"
echo "cast-check: all good ($("$CAST" --version | head -1))"
