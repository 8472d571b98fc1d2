# Sourced by the compat runners: builds Beacon and starts it on a random port with a fresh
# embedded SQLite database and the outbox transport, stopped (and its files removed) when the
# runner exits. Sets `base` (its URL), `work` (its folder; the log is $work/out.log), and
# `BEACON_SECRET_KEY` / `BEACON_PUBLIC_KEY` (from its first-start banner). Needs `root`.
# Tracking domains are verified against a nameserver on a closed local port, so a domain a
# runner adds is checked without asking anyone outside (no answer comes: a Verify answers
# after the lookup budget, 4 s, within a client's usual 10 s).
cargo build -q -p beacon --manifest-path "$root/Cargo.toml"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BEACON_DATABASE_URL="sqlite://$work/beacon.db" BEACON_LISTEN="127.0.0.1:$port" BEACON_LOG=warn \
  BEACON_DNS_SERVER="${BEACON_DNS_SERVER:-127.0.0.1:9}" \
  "${CARGO_TARGET_DIR:-$root/target}/debug/beacon" serve >"$work/out.log" 2>&1 &
beacon_pid=$!
trap 'kill $beacon_pid 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -sf "$base/health" >/dev/null 2>&1 && break
  sleep 0.1
done
export BEACON_SECRET_KEY="$(grep -o 'sk_[0-9a-f]*' "$work/out.log" | head -1)"
export BEACON_PUBLIC_KEY="$(grep -o 'pk_[0-9a-f]*' "$work/out.log" | head -1)"
