#!/usr/bin/env bash
# Runs the official Plunk Node SDK against a freshly started Beacon (embedded SQLite, random port).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
command -v node >/dev/null || { echo "node is not installed: skipping the Plunk SDK check"; exit 0; }
npm ci --no-audit --no-fund --silent

cargo build -q -p beacon --manifest-path "$root/Cargo.toml"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BEACON_DATABASE_URL="sqlite://$work/beacon.db" BEACON_LISTEN="127.0.0.1:$port" BEACON_LOG=warn \
  "${CARGO_TARGET_DIR:-$root/target}/debug/beacon" serve >"$work/out.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
export BEACON_URL="http://127.0.0.1:$port"
export BEACON_SECRET_KEY="$(grep -o 'sk_[0-9a-f]*' "$work/out.log" | head -1)"
export BEACON_PUBLIC_KEY="$(grep -o 'pk_[0-9a-f]*' "$work/out.log" | head -1)"
node --test
