#!/usr/bin/env python3
"""Refreshes crates/tracking/src/classify/networks.tsv from the lists vendors publish as data.

    python3 crates/tracking/tools/refresh-networks.py            # download, rewrite the file
    python3 crates/tracking/tools/refresh-networks.py --relay    # also iCloud Private Relay egress
    ... --microsoft-json FILE --relay-csv FILE                    # use saved copies instead

What it rewrites:
- Microsoft Defender for Office 365 / Exchange Online Protection: the IPs of the Exchange Online
  endpoint set that carries SMTP (TCP 25) in Microsoft's endpoints web service
  (https://endpoints.office.com/endpoints/worldwide), as `scanner` lines.
- With --relay: Apple's iCloud Private Relay egress list
  (https://mask-api.icloud.com/egress-ip-ranges.csv), collapsed to the fewest CIDRs, as `relay`
  lines (a few hundred thousand prefixes before collapsing: a large file).
Every other line is kept as it is: Mimecast, Proofpoint and Barracuda publish web pages, not data;
check those sections by hand against the URL in their source column and edit the date.

Then run `cargo test -p beacon-tracking` (it refuses overlapping or malformed lines). Needs only
the Python standard library and access to the vendors' hosts, which Beacon's build machines do not
have: run it where they can be reached and commit the result.
"""
import argparse
import datetime
import ipaddress
import json
import os
import sys
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TSV = os.path.join(HERE, "..", "src", "classify", "networks.tsv")
MS_URL = "https://endpoints.office.com/endpoints/worldwide?ServiceAreas=Exchange&clientrequestid="
MS_PRODUCT = "Microsoft Defender for Office 365"
MS_SOURCE = "https://learn.microsoft.com/en-us/microsoft-365/enterprise/urls-and-ip-address-ranges"
RELAY_URL = "https://mask-api.icloud.com/egress-ip-ranges.csv"
RELAY_PRODUCT = "iCloud Private Relay"
RELAY_SOURCE = "https://developer.apple.com/support/prepare-your-network-for-icloud-private-relay/"


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read().decode("utf-8")


def microsoft_smtp(endpoints_json):
    """The IP prefixes of the endpoint sets whose TCP ports include 25."""
    nets = set()
    for e in json.loads(endpoints_json):
        ports = [p.strip() for p in str(e.get("tcpPorts", "")).split(",")]
        if "25" in ports:
            nets.update(e.get("ips", []))
    return sorted((ipaddress.ip_network(n) for n in nets), key=lambda n: (n.version, n))


def relay_egress(csv_text):
    """Apple's egress CSV (prefix,country,region,city,) collapsed per address family."""
    v4, v6 = [], []
    for line in csv_text.splitlines():
        prefix = line.split(",", 1)[0].strip()
        if not prefix:
            continue
        net = ipaddress.ip_network(prefix, strict=False)
        (v4 if net.version == 4 else v6).append(net)
    return list(ipaddress.collapse_addresses(v4)) + list(ipaddress.collapse_addresses(v6))


def rewrite(lines, product, scope, source, nets, date):
    """Drops the old lines of `product` and appends the new ones after the last comment that
    precedes where they were (or at the end)."""
    kept, at = [], None
    for line in lines:
        cols = line.rstrip("\n").split("\t")
        if len(cols) == 5 and cols[1] == product:
            at = len(kept) if at is None else at
            continue
        kept.append(line)
    new = [f"{n}\t{product}\t{scope}\t{source}\t{date}\n" for n in nets]
    at = len(kept) if at is None else at
    return kept[:at] + new + kept[at:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relay", action="store_true", help="also write iCloud Private Relay egress")
    ap.add_argument("--microsoft-json", help="a saved copy of Microsoft's endpoints JSON")
    ap.add_argument("--relay-csv", help="a saved copy of Apple's egress CSV (implies --relay)")
    ap.add_argument("--file", default=TSV, help="the networks.tsv to rewrite")
    args = ap.parse_args()
    date = datetime.date.today().isoformat()
    with open(args.file) as f:
        lines = f.readlines()
    ms = (open(args.microsoft_json).read() if args.microsoft_json
          else fetch(MS_URL + str(uuid.uuid4())))
    nets = microsoft_smtp(ms)
    if not nets:
        sys.exit("Microsoft's list has no SMTP endpoints: not rewriting")
    lines = rewrite(lines, MS_PRODUCT, "scanner", MS_SOURCE, nets, date)
    if args.relay or args.relay_csv:
        csv = open(args.relay_csv).read() if args.relay_csv else fetch(RELAY_URL)
        lines = rewrite(lines, RELAY_PRODUCT, "relay", RELAY_SOURCE, relay_egress(csv), date)
    with open(args.file, "w") as f:
        f.writelines(lines)
    print(f"{args.file}: {len(nets)} Microsoft prefixes" , file=sys.stderr)


if __name__ == "__main__":
    main()
