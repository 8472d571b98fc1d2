#!/usr/bin/env bash
# Beacon's benchmark suite in one run: installs what it needs from Debian packages, builds once,
# starts every server on loopback, measures (each load loop bounded in time), stops what it
# started, and writes bench/results/latest.md. See bench/README.md.
#
#   bench/run.sh                     # everything: builds, then ~5 min of measuring on 2 cores
#   BENCH_SECS=3 BENCH_ROUNDS=1 BENCH_RECIPIENTS=20000 bench/run.sh   # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/sbin/smtp-sink ] || need+=(postfix)
command -v psql >/dev/null || need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
  echo "[bench] installing ${need[*]}" >&2
  apt-get update -qq
  # postfix asks questions and would start its own daemon: answer none, and let no package
  # start a service (Debian's policy-rc.d, removed again after). Only its smtp-sink tool is used.
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
  if /usr/sbin/postfix status >/dev/null 2>&1; then /usr/sbin/postfix stop >&2 || true; fi
fi
export PATH="$PATH:/usr/sbin"

# PostgreSQL is a service of this kind of machine; start it if it is down.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
fi
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { echo "[bench] PostgreSQL is not reachable: skipping its runs" >&2; export BENCH_SKIP="${BENCH_SKIP:+$BENCH_SKIP,}pg"; }

echo "[bench] building (release, once)" >&2
build_start=$(date +%s)
read -r BENCH_LOAD_START _ < /proc/loadavg  # the report shows what else was running
# One cargo invocation for the servers and the tracking library's criterion bench (the bench
# profile inherits release): one feature resolution, so the crates they share are compiled once.
# A `cargo bench` of its own would resolve features for beacon-tracking alone (serde, syn, regex,
# clap … with other feature sets) and compile them again. bench.py runs the bench executable.
BENCH_REWRITE_EXE=$(cargo build --release --quiet -p beacon -p beacon-bench -p beacon-tracking \
  --bins --bench rewrite --message-format=json-render-diagnostics | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "rewrite" and m.get("executable"):
        print(m["executable"])')
[ -x "$BENCH_REWRITE_EXE" ] || { echo "[bench] the criterion bench did not build" >&2; exit 1; }
BENCH_BUILD_SECS=$(( $(date +%s) - build_start ))
export BENCH_REWRITE_EXE BENCH_BUILD_SECS BENCH_LOAD_START
echo "[bench] built in ${BENCH_BUILD_SECS}s" >&2

# bench.py stops everything it started, also on Ctrl-C; its results land in bench/results/.
exec timeout --signal=INT --kill-after=30 600 python3 bench/bench.py
