# Sourced by the client checks: builds devnode, starts it on a free
# loopback port in the background (stopped, and its log removed, when the
# script exits) and waits until it accepts connections. Sets PORT, LOG and
# NODE.
cargo build -q -p pond-devnode --bin devnode
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp)
target/debug/devnode --port "$PORT" >"$LOG" 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
    sleep 0.1
done
