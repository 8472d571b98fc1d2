#!/usr/bin/env bash
# Runs the official Plunk Node SDK against a freshly started Beacon (embedded SQLite, random port).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
command -v node >/dev/null || { echo "node is not installed: skipping the Plunk SDK check"; exit 0; }
npm ci --no-audit --no-fund --silent

. "$root/compat/start-beacon.sh"
export BEACON_URL="$base"
node --test
