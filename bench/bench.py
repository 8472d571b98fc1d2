#!/usr/bin/env python3
"""Beacon's load and throughput benchmarks, driven by bench/run.sh (read bench/README.md).

Starts every server it measures on loopback (Beacon, nginx, smtp-sink), bounds every load loop
in time, stops what it started, and writes bench/results/latest.md (+ latest.json).
Environment: BENCH_SECS (wrk seconds per tracking run, default 4), BENCH_ROUNDS (interleaved
rounds, default 2), BENCH_SEND_SECS (wrk seconds on /v1/send, default 10, at most 20),
BENCH_RECIPIENTS (campaign size, default 100000), BENCH_PG (postgres base URL, default
postgres://postgres@127.0.0.1:5432), BENCH_SKIP (comma list of: pg,campaign,segments,pages,verdicts),
BENCH_ONLY (comma list of step names to run alone, e.g. `campaign sqlite,campaign postgres,sending`),
BENCH_REWRITE_EXE (the built criterion bench; run.sh sets it, else `cargo bench` builds it).
"""
import json, os, re, signal, socket, sqlite3, subprocess, sys, time

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from harness import (BIN, LUA_PATHS, ROOT, TMP, Beacon, Rss, Store, cleanup, free_port, http,  # noqa: E402
                     log, lua, psql, spawn, start_nginx, stop, wait_listening, wrk)
from report import write  # noqa: E402  (bench/report.py)

NEWSLETTER = os.path.join(ROOT, "crates", "tracking", "benches", "newsletter.html")
SECS = int(os.environ.get("BENCH_SECS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
GC_SECS = 1  # per batch size; the fold then gets 3x that
# The smtp-sink is paused while /v1/send is loaded: Beacon's SMTP timeout (30 s) must not fire.
SEND_SECS = min(int(os.environ.get("BENCH_SEND_SECS", "10")), 20)
RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
R = {"rows": [], "notes": []}


# ---------------------------------------------------------------- tracking


def seed_tracked(b, n=1000):
    """n real, tracked emails through /v1/send; returns their pixel and click paths."""
    html = ('<html><body><p>Hello {{first_name}}</p><a href="https://example.com/a?x=1">A</a>'
            ' <a href="https://example.com/b">B</a></body></html>')
    ids = []
    for i in range(0, n, 50):
        r = http("POST", b.base + "/v1/send", b.sk, {
            "to": [f"r{j}@example.com" for j in range(i, min(n, i + 50))],
            "subject": "Hello", "body": html})
        ids += [e["email"] for e in r["data"]["emails"]]
    opens, clicks = [], []
    for eid in ids:
        h = http("GET", f"{b.base}/v1/emails/{eid}", b.sk)["data"]["html"]
        opens += re.findall(re.escape(b.base) + r'(/o/[^"]+)', h)
        clicks += re.findall(re.escape(b.base) + r'(/c/[^"]+)', h)
    paths = {}
    for kind, ps in (("open", opens), ("click", clicks)):
        paths[kind] = os.path.join(TMP, f"{kind}-{b.port}.txt")
        with open(paths[kind], "w") as f:
            f.write("\n".join(ps) + "\n")
    return paths, len(opens), len(clicks)


def tracking(backend):
    store = Store(backend, "tracking")
    b = Beacon(store)
    try:
        paths, n_open, n_click = seed_tracked(b)
        log(f"{backend}: seeded {n_open} pixel and {n_click} click URLs")
        ngx, nbase, access = start_nginx()
        for kind, event, ref in (("open", "email.open", "nginx empty_gif"),
                                 ("click", "email.click", "nginx return 302")):
            script = lua(f"{kind}-{b.port}.lua", LUA_PATHS % paths[kind])
            beacon_runs, nginx_runs, missing, stored_total, answered_total = [], [], 0, 0, 0
            unconf0 = b.metrics()
            for rnd in range(ROUNDS):
                lines0 = sum(1 for _ in open(access)) if os.path.exists(access) else 0
                n = wrk(nbase, script, SECS, pid=ngx.pid)
                n["logged"] = sum(1 for _ in open(access)) - lines0
                nginx_runs.append(n)
                before = store.scalar(f"SELECT COUNT(*) FROM events WHERE name = '{event}'")
                r = wrk(b.base, script, SECS, pid=b.p.pid)
                r["pending"], r["drain_s"] = b.drain()
                after = store.scalar(f"SELECT COUNT(*) FROM events WHERE name = '{event}'")
                r["stored"] = after - before
                stored_total += r["stored"]
                answered_total += r["answered"]
                missing += max(0, r["answered"] - r["stored"])
                beacon_runs.append(r)
                log(f"{backend} {kind} round {rnd}: nginx {n['rps']:.0f}/s, beacon {r['rps']:.0f}/s "
                    f"p99 {r['p99_us']}us, answered {r['answered']} stored {r['stored']} "
                    f"(backlog {r['pending']} folded in {r['drain_s']:.1f} s)")
            m = b.metrics()
            bm, nm = avg(beacon_runs), avg(nginx_runs)
            R["rows"].append({
                "section": "endpoints", "what": f"{'pixel /o' if kind == 'open' else 'click /c'}",
                "backend": backend, "rps": bm["rps"], "ref": ref, "ref_rps": nm["rps"],
                "ratio": bm["rps"] / nm["rps"], "p50_ms": bm["p50_us"] / 1e3, "p99_ms": bm["p99_us"] / 1e3,
                "ref_p50_ms": nm["p50_us"] / 1e3, "ref_p99_ms": nm["p99_us"] / 1e3,
                "answered": answered_total, "stored": stored_total, "missing": missing,
                "socket_err": sum(x["socket_err"] for x in beacon_runs),
                "unconfirmed": m.get("unconfirmed", 0) - unconf0.get("unconfirmed", 0),
                "dropped": m.get("dropped", 0) - unconf0.get("dropped", 0),
                "rss_mb": max(x["rss_mb"] for x in beacon_runs),
                "ref_rss_mb": max(x["rss_mb"] for x in nginx_runs),
                "ref_logged": sum(x["logged"] for x in nginx_runs),
                "pending": max(x["pending"] for x in beacon_runs),
                "drain_s": max(x["drain_s"] for x in beacon_runs),
                "group": (m.get("recorded", 0) - unconf0.get("recorded", 0)) and None})
        stop(ngx)
        os.remove(access)  # a few hundred MB of access log per run
    finally:
        b.close()
        store.drop()


def avg(runs):
    keys = ("rps", "p50_us", "p99_us")
    return {k: sum(r[k] for r in runs) / len(runs) for k in keys}


# ---------------------------------------------------------------- group commit


def group_commit(backend):
    store = Store(backend, "groupcommit")
    try:
        out = subprocess.run([os.path.join(BIN, "beacon-bench"), "group-commit", store.url, str(GC_SECS)],
                             capture_output=True, text=True, timeout=180, check=True)
        for line in out.stdout.splitlines():
            r = json.loads(line)
            if r["bench"] == "group_commit":
                R["rows"].append({"section": "group", "backend": backend, **r})
            elif r["bench"] == "fold":
                R["rows"].append({"section": "fold", "backend": backend, **r})
    finally:
        store.drop()


# ---------------------------------------------------------------- rendering


def criterion(args, timeout=300):
    """Runs the tracking library's criterion bench. run.sh built it in the same cargo invocation
    as the servers (one feature resolution, so nothing is compiled twice) and names the
    executable; `cargo bench` on its own would resolve features anew and rebuild 45 crates."""
    exe = os.environ.get("BENCH_REWRITE_EXE")
    cmd = [exe, "--bench", *args] if exe else \
        ["cargo", "bench", "--quiet", "-p", "beacon-tracking", "--bench", "rewrite", "--", *args]
    # Criterion keeps its reports under CRITERION_HOME (else `target/criterion` below the working
    # directory, which would leave them in the source tree).
    env = dict(os.environ, CRITERION_HOME=os.path.join(TMP, "criterion"))
    out = subprocess.run(cmd, cwd=os.path.join(ROOT, "crates", "tracking"), capture_output=True,
                         text=True, timeout=timeout, env=env)
    text = out.stdout + out.stderr
    res = {}
    for m in re.finditer(r"^(\S+)\s*\n?\s*time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", text, re.M):
        v, unit = float(m.group(2)), m.group(3)
        res[m.group(1).split("/")[-1]] = v * {"ns": 1e-3, "µs": 1, "us": 1, "ms": 1e3, "s": 1e6}[unit]
    return res, text, out.returncode


def rendering():
    res, text, rc = criterion(["--warm-up-time", "1", "--measurement-time", "2"])
    if not res:
        R["notes"].append(f"criterion rewrite bench failed (rc {rc}): {text[-300:]}")
    R["criterion"] = res
    out = subprocess.run([os.path.join(BIN, "beacon-bench"), "render", NEWSLETTER, str(RECIPIENTS)],
                         capture_output=True, text=True, timeout=300, check=True)
    R["render_lib"] = json.loads(out.stdout.strip().splitlines()[-1])


def store_size(store):
    """Bytes the database takes: SQLite's file and its WAL (and the hits backlog beside them),
    PostgreSQL's pg_database_size."""
    if store.backend == "sqlite":
        return sum(os.path.getsize(store.path + suf) for suf in ("", "-wal", "-hits", "-hits-wal")
                   if os.path.exists(store.path + suf))
    return store.scalar("SELECT pg_database_size(current_database())")


def seed_contacts(store, project, n):
    now = int(time.time() * 1000)
    if store.backend == "postgres":
        psql(f"INSERT INTO contacts (id, project_id, email, subscribed, data, created_at, updated_at) "
             f"SELECT '01900000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'), '{project}', "
             f"'user' || i || '@example.com', 1, '{{\"first_name\": \"Ada' || i || '\"}}', {now}, {now} "
             f"FROM generate_series(0, {n - 1}) AS i", store.db)
        return
    c = sqlite3.connect(store.path)
    c.executemany(
        "INSERT INTO contacts (id, project_id, email, subscribed, data, created_at, updated_at) "
        "VALUES (?, ?, ?, 1, ?, ?, ?)",
        (("01900000-0000-7000-8000-" + f"{i:012x}", project,
          f"user{i}@example.com", json.dumps({"first_name": f"Ada{i}"}), now, now)
         for i in range(n)))
    c.commit()
    c.close()


def campaign(backend):
    """End to end: 100k contacts, one campaign with the 60 KB newsletter, /send, until SENT; how
    much the database grew, and reading an email's bodies afterwards."""
    store = Store(backend, "campaign")
    b, mute = Beacon(store, BEACON_WORKERS=1), None
    try:
        b.close()  # seed the contacts straight into the database while no server runs
        project = (psql("SELECT id FROM projects LIMIT 1", store.db) if backend == "postgres"
                   else sqlite3.connect(store.path).execute("SELECT id FROM projects LIMIT 1").fetchone()[0])
        seed_contacts(store, project, RECIPIENTS)
        # This measures rendering and queueing, not delivery. The relay is a socket that is
        # listened on but never accepted: the one worker's connections wait for a greeting
        # (30 s timeout) with a single batch, instead of failing batch after batch at full
        # speed (a refused port), building every message's MIME on the cores the fan-out uses.
        mute = socket.socket()
        mute.bind(("127.0.0.1", 0))
        mute.listen(64)
        b = Beacon(store, BEACON_TRANSPORT="smtp", BEACON_SMTP_HOST="127.0.0.1",
                   BEACON_SMTP_PORT=mute.getsockname()[1], BEACON_SMTP_SECURITY="plain",
                   BEACON_WORKERS=1, BEACON_RETRY_BASE_MS=3600000)
        body = open(NEWSLETTER).read()
        camp = http("POST", b.base + "/v1/campaigns", b.sk, {
            "name": "bench", "subject": "News for {{first_name}}", "body": body,
            "from": "news@example.com", "audience": {"all": True}})["data"]
        time.sleep(1)  # the WAL of the start-up writes is emptied once idle
        size0 = store_size(store)
        rss = Rss(b.p.pid)
        t0 = time.time()
        http("POST", f"{b.base}/v1/campaigns/{camp['id']}/send", b.sk, {})
        status, n = "", 0
        while time.time() - t0 < 300:
            d = http("GET", f"{b.base}/v1/campaigns/{camp['id']}", b.sk)["data"]
            status, n = d["status"], d.get("recipients", 0)
            if status in ("SENT", "CANCELLED"):
                break
            time.sleep(0.25)
        secs = time.time() - t0
        grown_at_end = store_size(store) - size0
        time.sleep(2)  # idle: the WAL is checkpointed and truncated
        grown = store_size(store) - size0
        wal = os.path.getsize(store.path + "-wal") if backend == "sqlite" and os.path.exists(store.path + "-wal") else 0
        R.setdefault("campaigns", {})[backend] = {
            "recipients": n, "status": status, "secs": secs, "per_s": n / secs, "rss_mb": rss.done(),
            "grown_mb": grown / 2**20, "grown_at_end_mb": grown_at_end / 2**20, "wal_mb": wal / 2**20}
        log(f"campaign {backend}: {n} in {secs:.1f}s ({status}), database +{grown / 2**20:.0f} MB "
            f"(+{grown_at_end / 2**20:.0f} MB when SENT)")
        if mute:  # first: its waiting connections are reset, so the worker's batch ends now
            mute.close()
            mute = None
        b.close()
        out = subprocess.run([os.path.join(BIN, "beacon-bench"), "bodies", store.url, "1000"],
                             capture_output=True, text=True, timeout=300)
        if out.returncode == 0:
            R["campaigns"][backend]["read"] = json.loads(out.stdout.strip().splitlines()[-1])
        else:
            R["notes"].append(f"body reads ({backend}) failed: {out.stderr.strip()[-400:]}")
    finally:
        if mute:
            mute.close()
        b.close()
        store.drop()


# ---------------------------------------------------------------- sending


SEND_LUA = """
local body = io.open("%s"):read("*a")
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/send", {["Authorization"] = "Bearer %s",
    ["Content-Type"] = "application/json"},
    '{"to":"s' .. n .. '-' .. math.random(1e9) .. '@example.com","subject":"Weekly","body":' .. body .. '}')
end
"""


def sending():
    """/v1/send under wrk with delivery held back, then the whole backlog drained and timed.

    smtp-sink is stopped (SIGSTOP) while wrk posts: Beacon's SMTP connections get their TCP
    handshake from the kernel but no greeting, so its workers wait with their first claimed
    batch instead of failing it (its connect and transaction timeouts are 30 s; the pause lasts
    SEND_SECS <= 20 s plus a moment). Resumed after wrk, the sink takes the whole queue, and the
    drain rate comes from Beacon's own sent_at stamps, not from polling."""
    sink_port = free_port()
    sink = spawn(["/usr/sbin/smtp-sink", "-u", "nobody", f"127.0.0.1:{sink_port}", "256"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(sink_port)
    store = Store("sqlite", "sending")
    b = Beacon(store, BEACON_TRANSPORT="smtp", BEACON_SMTP_HOST="127.0.0.1", BEACON_SMTP_PORT=sink_port,
               BEACON_SMTP_SECURITY="plain", BEACON_SMTP_POOL=8, BEACON_WORKERS=2)
    paused = False
    try:
        body = os.path.join(TMP, "newsletter.json")
        with open(body, "w") as f:
            json.dump(open(NEWSLETTER).read(), f)
        script = lua("send.lua", SEND_LUA % (body, b.sk))
        sink.send_signal(signal.SIGSTOP)
        paused = True
        t_pause = time.time()
        r = wrk(b.base, script, secs=SEND_SECS, conns=16, pid=b.p.pid)
        queued = store.scalar("SELECT COUNT(*) FROM emails")
        sent_early = store.scalar("SELECT COUNT(*) FROM emails WHERE status = 'SENT'")
        rss = Rss(b.p.pid)
        t0 = time.time()
        t0_ms = int(t0 * 1000)
        sink.send_signal(signal.SIGCONT)
        paused = False
        pause_s = t0 - t_pause
        while time.time() - t0 < 120:
            time.sleep(0.2)
            if store.scalar("SELECT COUNT(*) FROM emails WHERE status IN ('PENDING','SENDING')") == 0:
                break
        drained = store.scalar(f"SELECT COUNT(*) FROM emails WHERE status = 'SENT' AND sent_at >= {t0_ms}")
        last_ms = store.scalar("SELECT COALESCE(MAX(sent_at), 0) FROM emails WHERE status = 'SENT'")
        secs = (last_ms - t0_ms) / 1000 if drained else time.time() - t0
        sent = store.scalar("SELECT COUNT(*) FROM emails WHERE status = 'SENT'")
        failed = store.scalar("SELECT COUNT(*) FROM emails WHERE status NOT IN ('SENT','PENDING','SENDING')")
        # A claim counts an attempt, so an email tried more than once has attempts > 1.
        retried = store.scalar("SELECT COUNT(*) FROM emails WHERE attempts > 1")
        R["send"] = {"rps": r["rps"], "answered": r["answered"], "non2xx": r["status_err"],
                     "secs": r["duration_us"] / 1e6, "p50_ms": r["p50_us"] / 1e3,
                     "p99_ms": r["p99_us"] / 1e3, "queued": queued, "rss_mb": r["rss_mb"]}
        R["deliver"] = {"emails": drained, "secs": secs, "per_s": drained / max(secs, 1e-3),
                        "sent_while_paused": sent_early, "pause_s": pause_s,
                        "left": queued - sent, "failed": failed, "retried": retried,
                        "rss_mb": rss.done()}
        log(f"send: {r['rps']:.0f}/s accepted ({queued} queued, sink paused {pause_s:.1f}s); "
            f"delivered {drained} in {secs:.1f}s, {failed} failed, {queued - sent} left")
    finally:
        if paused:
            sink.send_signal(signal.SIGCONT)
        b.close()
        stop(sink)
        store.drop()


# ---------------------------------------------------------------- segments


def segments():
    """`beacon-bench segments`: builds 100k contacts and 1M events in a temp SQLite file (~20-30 s),
    then times each segment's count for about 2 s (3 to 10 samples)."""
    out = subprocess.run([os.path.join(BIN, "beacon-bench"), "segments", "", "2"],
                         capture_output=True, text=True, timeout=300)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    seg = {f"{r['kind']}:{r['case']}": r for r in rows if r["bench"] == "segment"}
    R["segments"] = seg or None
    R["segment_data"] = next((r for r in rows if r["bench"] == "segment_data"), None)
    if out.returncode != 0 or not seg:
        R["notes"].append(f"segment bench failed (rc {out.returncode}): {out.stderr.strip()[-400:]}")


# ---------------------------------------------------------------- dashboard pages


def pages():
    """`beacon-bench pages`: the segment data set plus 100k emails in a temp SQLite file, a real
    server and a signed-in session; each dashboard page fetched for about 1 s (20 to 200 times)."""
    out = subprocess.run([os.path.join(BIN, "beacon-bench"), "pages", "", "1"],
                         capture_output=True, text=True, timeout=300)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    R["pages"] = [r for r in rows if r["bench"] == "page"] or None
    R["page_data"] = next((r for r in rows if r["bench"] == "page_data"), None)
    if out.returncode != 0 or not R["pages"]:
        R["notes"].append(f"page bench failed (rc {out.returncode}): {out.stderr.strip()[-400:]}")


# ---------------------------------------------------------------- verdicts


def verdicts():
    """`beacon-bench verdicts`: the labelled corpus of hits replayed through a Beacon in process
    (SQLite); the accuracy of its human/machine verdicts (~15 s, mostly the corpus's own waits)."""
    out = subprocess.run([os.path.join(BIN, "beacon-bench"), "verdicts"],
                         capture_output=True, text=True, timeout=180)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    R["verdicts"] = next((r for r in rows if r.get("bench") == "verdicts"), None)
    if R["verdicts"]:
        v = R["verdicts"]
        log(f"   verdict accuracy {v['accuracy'] * 100:.1f} % of {v['hits']} hits, "
            f"{v['humans_flagged']} people flagged")
    if out.returncode != 0 or not R["verdicts"]:
        R["notes"].append(f"verdict corpus failed (rc {out.returncode}): {out.stderr.strip()[-400:]}")


# ---------------------------------------------------------------- main

def main():
    t0 = time.time()
    R["cores"] = os.cpu_count()
    R["cpu"] = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    R["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    R["load_before"] = os.getloadavg()
    R["secs"], R["rounds"], R["gc_secs"] = SECS, ROUNDS, GC_SECS
    steps = [("tracking sqlite", lambda: tracking("sqlite")), ("group commit sqlite", lambda: group_commit("sqlite"))]
    if "pg" not in SKIP:
        steps += [("tracking postgres", lambda: tracking("postgres")),
                  ("group commit postgres", lambda: group_commit("postgres"))]
    steps += [("rendering", rendering), ("sending", sending)]
    if "campaign" not in SKIP:
        steps.append(("campaign sqlite", lambda: campaign("sqlite")))
        if "pg" not in SKIP:
            steps.append(("campaign postgres", lambda: campaign("postgres")))
    if "segments" not in SKIP:
        steps.append(("segments", segments))
    if "pages" not in SKIP:
        steps.append(("dashboard pages", pages))
    if "verdicts" not in SKIP:
        steps.append(("verdicts", verdicts))
    if ONLY:  # a part of the suite, by step name ("campaign sqlite,sending")
        steps = [(name, f) for name, f in steps if name in ONLY]
    R["step_secs"] = {}
    for name, f in steps:
        log(f"== {name}")
        t = time.time()
        try:
            f()
        except KeyboardInterrupt:  # run.sh's time cap (SIGINT): keep what was measured so far
            R["notes"].append(f"stopped by the time cap during {name}; later steps did not run")
            break
        except Exception as e:  # one broken step must not hide the others' numbers
            log(f"{name} failed: {e!r}")
            R["notes"].append(f"{name} failed: {e!r}"[:500])
        finally:
            R["step_secs"][name] = round(time.time() - t, 1)
        log(f"   {name}: {time.time() - t:.0f}s")
    R["total_secs"] = time.time() - t0
    R["build_secs"] = int(os.environ["BENCH_BUILD_SECS"]) if os.environ.get("BENCH_BUILD_SECS") else None
    R["load_start"] = float(os.environ["BENCH_LOAD_START"]) if os.environ.get("BENCH_LOAD_START") else None
    R["load_after"] = os.getloadavg()
    write(R, os.path.join(ROOT, "bench", "results"))


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
