#!/usr/bin/env bash
# Property-based API testing: schemathesis (from PyPI, in a virtual environment of its own)
# reads Beacon's OpenAPI document from a freshly started Beacon (embedded SQLite, outbox
# transport, random port) and sends every operation a few hundred generated requests with the
# secret key. It fails on any 5xx, any answer that breaks the document (status, content type,
# headers, body schema), and any of its other checks but one: `positive_data_acceptance`, which
# expects every schema-valid request to succeed, while the API refuses well-formed requests
# that break a rule no schema can say (an unknown template, an address that is not one, a
# campaign that is not a DRAFT).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${CARGO_TARGET_DIR:-$root/target}/schemathesis-venv"
examples="${BEACON_SCHEMATHESIS_EXAMPLES:-200}"

if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "installing schemathesis into $venv"
  if ! python3 -m venv "$venv"; then
    # Debian's own python3 keeps venv in a package of its own.
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

# Webhooks may reach nothing but public addresses (none answer here); sends stay in the outbox.
. "$root/compat/start-beacon.sh"
sk="$BEACON_SECRET_KEY"

# Some real objects, so lists and reads answer with real contacts, templates, segments,
# campaigns, workflows, a tracking domain and an email, and those answers are checked against
# the document too.
api() {
  curl -sf -X "$1" "$base$2" -H "Authorization: Bearer $sk" -H 'content-type: application/json' \
    ${3:+-d "$3"}
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin)['data']; print($1)"; }
export BEACON_SK="$sk"
api POST /v1/contacts '{"email":"seed@example.com","subscribed":true,"data":{"plan":"pro"}}' >/dev/null
template="$(api POST /v1/templates '{"name":"Seed","subject":"Hi {{plan}}","body":"<p><a href=\"https://example.com/x\">x</a></p>","type":"MARKETING"}' | field 'd["id"]')"
api POST /v1/segments '{"name":"Pro","condition":{"field":"data.plan","op":"equals","value":"pro"}}' >/dev/null
api POST /v1/campaigns '{"name":"Seed","subject":"Hello","body":"<p>Hi</p>","from":"news@example.com","audience":{"all":true}}' >/dev/null
api POST /v1/workflows "{\"name\":\"Seed\",\"trigger\":{\"event\":\"seeded\"},\"allowReentry\":true,\"steps\":[{\"id\":\"send\",\"type\":\"SEND_EMAIL\",\"template\":\"$template\",\"next\":\"wait\"},{\"id\":\"wait\",\"type\":\"DELAY\",\"amount\":1,\"unit\":\"days\"}]}" >/dev/null
export EMAIL_ID="$(api POST /v1/send '{"to":"seed@example.com","subject":"Seed","body":"<p><a href=\"https://example.com/y\">y</a></p>"}' | field 'd["emails"][0]["email"]')"
api POST /v1/track '{"event":"seeded","email":"seed@example.com"}' >/dev/null
# A tracking domain (checked against the closed local nameserver start-beacon.sh names).
api POST /v1/domains '{"hostname":"links.seed.example"}' >/dev/null
sleep 1  # the email reaches the outbox and the workflow starts

cd "$here"
start=$(date +%s)
status=0
# POST /v1/project/keys is run last and alone: it replaces the key every other operation uses.
"$venv/bin/schemathesis" run "$base/openapi.json" \
  --exclude-path /v1/project/keys --max-examples "$examples" --workers 2 --no-color || status=$?
"$venv/bin/schemathesis" run "$base/openapi.json" \
  --include-path /v1/project/keys --max-examples 10 --no-color || status=$?
echo "schemathesis: $(( $(date +%s) - start )) s with up to $examples examples per operation"
if grep -q "panicked" "$work/out.log"; then
  echo "Beacon panicked during the run:"; grep -A5 "panicked" "$work/out.log"; status=1
fi
if [ "$status" -ne 0 ]; then
  echo "== the end of Beacon's log =="; tail -40 "$work/out.log"
fi
exit $status
