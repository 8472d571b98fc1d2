#!/usr/bin/env python3
"""Beacon's load and throughput benchmarks, driven by bench/run.sh (read bench/README.md).

Starts every server it measures on loopback (Beacon, nginx, smtp-sink), bounds every load loop
in time, stops what it started, and writes bench/results/latest.md (+ latest.json).
Environment: BENCH_SECS (wrk seconds per run, default 10), BENCH_ROUNDS (interleaved rounds,
default 2), BENCH_RECIPIENTS (campaign size, default 100000), BENCH_PG (postgres base URL,
default postgres://postgres@127.0.0.1:5432), BENCH_SKIP (comma list of: pg,campaign,segments).
"""
import json, os, re, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
NEWSLETTER = os.path.join(ROOT, "crates", "tracking", "benches", "newsletter.html")
SECS = int(os.environ.get("BENCH_SECS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
TMP = tempfile.mkdtemp(prefix="beacon-bench-")
CHILDREN = []  # every process we started, stopped in cleanup()
R = {"rows": [], "notes": []}


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(args, **kw):
    p = subprocess.Popen(args, start_new_session=True, **kw)
    CHILDREN.append(p)
    return p


def stop(p, sig=signal.SIGTERM, wait=30):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cleanup():
    for p in CHILDREN:
        try:
            stop(p, wait=10)
        except Exception:
            pass


def http(method, url, key=None, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()


class Rss:
    """Samples a process's resident set every 50 ms; .peak_mb is the highest seen."""

    def __init__(self, pid):
        self.pid, self.peak, self.on = pid, 0, True
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while self.on:
            try:
                for line in open(f"/proc/{self.pid}/status"):
                    if line.startswith("VmRSS:"):
                        self.peak = max(self.peak, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.05)

    def done(self):
        self.on = False
        self.t.join()
        return round(self.peak / 1024, 1)


# ---------------------------------------------------------------- databases


class Store:
    def __init__(self, backend, name):
        self.backend = backend
        if backend == "sqlite":
            self.path = os.path.join(TMP, f"{name}.db")
            self.url = f"sqlite://{self.path}"
        else:
            self.db = f"beacon_bench_{name}_{os.getpid()}"
            psql(f'DROP DATABASE IF EXISTS "{self.db}"', "postgres")
            psql(f'CREATE DATABASE "{self.db}"', "postgres")
            self.url = f"{PG}/{self.db}"

    def scalar(self, sql):
        if self.backend == "sqlite":
            c = sqlite3.connect(self.path, timeout=30)
            try:
                return c.execute(sql).fetchone()[0]
            finally:
                c.close()
        return int(psql(sql, self.db) or 0)

    def drop(self):
        if self.backend == "sqlite":
            for suf in ("", "-wal", "-shm"):
                try:
                    os.remove(self.path + suf)
                except OSError:
                    pass
        else:
            psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)', "postgres")


def psql(sql, db):
    host = PG.split("@")[-1].split(":")[0]
    port = PG.rsplit(":", 1)[-1]
    out = subprocess.run(["psql", "-h", host, "-p", port, "-U", "postgres", "-d", db, "-tAc", sql],
                         check=True, capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


# ---------------------------------------------------------------- servers


class Beacon:
    key = {}

    def __init__(self, store, **env):
        self.store, self.port = store, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        e = dict(os.environ, BEACON_DATABASE_URL=store.url, BEACON_LISTEN=f"127.0.0.1:{self.port}",
                 BEACON_PUBLIC_URL=self.base, BEACON_LOG="warn", BEACON_MACHINE_MIN_SECS="0")
        e.update({k: str(v) for k, v in env.items()})
        self.out = open(os.path.join(TMP, f"beacon-{self.port}.log"), "w")
        self.p = spawn([os.path.join(BIN, "beacon"), "serve"], env=e, stdout=subprocess.PIPE,
                       stderr=self.out, text=True)
        threading.Thread(target=self.read_banner, daemon=True).start()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if http("GET", self.base + "/health", timeout=2) is not None and store.url in Beacon.key:
                    return
            except Exception:
                pass
            if self.p.poll() is not None:
                raise RuntimeError(f"beacon exited: see {self.out.name}")
            time.sleep(0.1)
        raise RuntimeError("beacon did not become healthy")

    def read_banner(self):
        for line in self.p.stdout:
            for w in line.split():
                if w.startswith("sk_"):
                    Beacon.key.setdefault(self.store.url, w)

    @property
    def sk(self):
        return Beacon.key[self.store.url]

    def metrics(self):
        text = http("GET", self.base + "/metrics")
        return {m.group(1): int(m.group(2)) for m in
                re.finditer(r"^beacon_tracking_hits_(\w+?)_total (\d+)", text, re.M)}

    def pending(self):
        text = http("GET", self.base + "/metrics")
        return int(re.search(r"^beacon_tracking_hits_pending (-?\d+)", text, re.M).group(1))

    def drain(self, limit=180):
        """Waits (bounded) until every answered hit is folded into counters and events; returns
        the backlog when wrk stopped and how long folding it took."""
        t0, first = time.time(), self.pending()
        while time.time() - t0 < limit and self.pending() != 0:
            time.sleep(0.1)
        return first, time.time() - t0

    def batches(self):
        text = http("GET", self.base + "/metrics")
        return int(re.search(r"^beacon_tracking_batches_total (\d+)", text, re.M).group(1))

    def close(self):
        stop(self.p)
        self.out.close()


def start_nginx():
    d = os.path.join(TMP, "nginx")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /o/ {{ empty_gif; }}
    location /c/ {{ return 302 https://example.com/landing; }}
  }}
}}
""")
    p = spawn(["nginx", "-e", f"{d}/error.log", "-p", d, "-c", conf])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, f"http://127.0.0.1:{port}", os.path.join(d, "access.log")
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


# ---------------------------------------------------------------- wrk

LUA_PATHS = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
"""
LUA_DONE = """
done = function(s, lat, req)
  local e = s.errors
  io.write(string.format('JSON {"requests":%d,"duration_us":%d,"status_err":%d,' ..
    '"socket_err":%d,"p50_us":%d,"p99_us":%d}\\n', s.requests, s.duration, e.status,
    e.connect + e.read + e.write + e.timeout, lat:percentile(50), lat:percentile(99)))
end
"""


def wrk(url, script, secs=SECS, conns=64, pid=None):
    rss = Rss(pid) if pid else None
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--timeout", "5s", "-s", script, url],
                         capture_output=True, text=True, timeout=secs + 60)
    peak = rss.done() if rss else None
    m = re.search(r"^JSON (.*)$", out.stdout, re.M)
    if not m:
        raise RuntimeError(f"wrk: {out.stdout}\n{out.stderr}")
    r = json.loads(m.group(1))
    r["answered"] = r["requests"] - r["status_err"]
    r["rps"] = r["answered"] / (r["duration_us"] / 1e6)
    r["rss_mb"] = peak
    return r


def lua(name, body):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(body + LUA_DONE)
    return path


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
                n = wrk(nbase, script, pid=ngx.pid)
                n["logged"] = sum(1 for _ in open(access)) - lines0
                nginx_runs.append(n)
                before = store.scalar(f"SELECT COUNT(*) FROM events WHERE name = '{event}'")
                r = wrk(b.base, script, pid=b.p.pid)
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
        out = subprocess.run([os.path.join(BIN, "beacon-bench"), "group-commit", store.url, "2"],
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


def criterion(args, timeout=600):
    out = subprocess.run(["cargo", "bench", "--quiet", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=timeout)
    text = out.stdout + out.stderr
    res = {}
    for m in re.finditer(r"^(\S+)\s*\n?\s*time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", text, re.M):
        v, unit = float(m.group(2)), m.group(3)
        res[m.group(1).split("/")[-1]] = v * {"ns": 1e-3, "µs": 1, "us": 1, "ms": 1e3, "s": 1e6}[unit]
    return res, text, out.returncode


def rendering():
    res, text, rc = criterion(["-p", "beacon-tracking", "--bench", "rewrite", "--",
                               "--warm-up-time", "1", "--measurement-time", "3"])
    if not res:
        R["notes"].append(f"criterion rewrite bench failed (rc {rc}): {text[-300:]}")
    R["criterion"] = res
    out = subprocess.run([os.path.join(BIN, "beacon-bench"), "render", NEWSLETTER, str(RECIPIENTS)],
                         capture_output=True, text=True, timeout=300, check=True)
    R["render_lib"] = json.loads(out.stdout.strip().splitlines()[-1])


def campaign():
    """End to end: 100k contacts, one campaign with the 60 KB newsletter, /send, until SENT."""
    store = Store("sqlite", "campaign")
    b = Beacon(store, BEACON_WORKERS=1)
    try:
        b.close()  # seed the contacts straight into the file while no server runs
        c = sqlite3.connect(store.path)
        project = c.execute("SELECT id FROM projects LIMIT 1").fetchone()[0]
        now = int(time.time() * 1000)
        c.executemany(
            "INSERT INTO contacts (id, project_id, email, subscribed, data, created_at, updated_at) "
            "VALUES (?, ?, ?, 1, ?, ?, ?)",
            ((f"0190{i:028x}"[:8] + "-" + f"{i:012x}"[:4] + "-7000-8000-" + f"{i:012x}", project,
              f"user{i}@example.com", json.dumps({"first_name": f"Ada{i}"}), now, now)
             for i in range(RECIPIENTS)))
        c.commit()
        c.close()
        # No SMTP relay: the workers would only fail; this measures rendering and queueing.
        b = Beacon(store, BEACON_TRANSPORT="smtp", BEACON_SMTP_HOST="127.0.0.1",
                   BEACON_SMTP_PORT=free_port(), BEACON_SMTP_SECURITY="plain", BEACON_WORKERS=1,
                   BEACON_RETRY_BASE_MS=3600000)
        body = open(NEWSLETTER).read()
        camp = http("POST", b.base + "/v1/campaigns", b.sk, {
            "name": "bench", "subject": "News for {{first_name}}", "body": body,
            "from": "news@example.com", "audience": {"all": True}})["data"]
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
        R["campaign"] = {"recipients": n, "status": status, "secs": secs, "per_s": n / secs,
                         "rss_mb": rss.done(),
                         "db_mb": round(os.path.getsize(store.path) / 2**20)}
        log(f"campaign: {n} in {secs:.1f}s ({status})")
    finally:
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
    sink_port = free_port()
    sink = spawn(["/usr/sbin/smtp-sink", "-u", "nobody", f"127.0.0.1:{sink_port}", "256"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = Store("sqlite", "sending")
    b = Beacon(store, BEACON_TRANSPORT="smtp", BEACON_SMTP_HOST="127.0.0.1", BEACON_SMTP_PORT=sink_port,
               BEACON_SMTP_SECURITY="plain", BEACON_SMTP_POOL=8, BEACON_WORKERS=2)
    try:
        body = os.path.join(TMP, "newsletter.json")
        with open(body, "w") as f:
            json.dump(open(NEWSLETTER).read(), f)
        script = lua("send.lua", SEND_LUA % (body, b.sk))
        r = wrk(b.base, script, conns=16, pid=b.p.pid)
        queued = store.scalar("SELECT COUNT(*) FROM emails")
        # Delivery: drain what is left of the backlog into smtp-sink, bounded in time. The rate
        # comes from the server's own sent_at stamps (a drain at ~1,000/s lasts about a second,
        # so counting at each poll would measure the polling interval).
        rss = Rss(b.p.pid)
        t0 = time.time()
        t0_ms = int(t0 * 1000)
        while time.time() - t0 < 90:
            time.sleep(0.2)
            if store.scalar("SELECT COUNT(*) FROM emails WHERE status IN ('PENDING','SENDING')") == 0:
                break
        # Counted at the end: an outcome stamped before t0 may commit after it.
        sent0 = store.scalar(f"SELECT COUNT(*) FROM emails WHERE status = 'SENT' AND sent_at < {t0_ms}")
        drained = store.scalar(f"SELECT COUNT(*) FROM emails WHERE status = 'SENT' AND sent_at >= {t0_ms}")
        last_ms = store.scalar("SELECT COALESCE(MAX(sent_at), 0) FROM emails WHERE status = 'SENT'")
        secs = (last_ms - t0_ms) / 1000 if drained else time.time() - t0
        sent = sent0 + drained
        failed = store.scalar("SELECT COUNT(*) FROM emails WHERE status NOT IN ('SENT','PENDING','SENDING')")
        R["send"] = {"rps": r["rps"], "answered": r["answered"], "non2xx": r["status_err"],
                     "p50_ms": r["p50_us"] / 1e3, "p99_ms": r["p99_us"] / 1e3, "queued": queued,
                     "rss_mb": r["rss_mb"], "sent_during_accept": sent0}
        R["deliver"] = {"emails": sent - sent0, "secs": secs, "per_s": (sent - sent0) / max(secs, 1e-3),
                        "per_s_during_accept": sent0 / (r["duration_us"] / 1e6),
                        "left": queued - sent, "failed": failed, "rss_mb": rss.done()}
        log(f"send: {r['rps']:.0f}/s accepted; delivered {sent - sent0} in {secs:.1f}s")
    finally:
        b.close()
        stop(sink)
        store.drop()


# ---------------------------------------------------------------- segments


def segments():
    res, text, rc = criterion(["-p", "beacon", "--bench", "segment_count", "--",
                               "spec_example|clicked_7d_humans"], timeout=400)
    counts = dict(re.findall(r"^(\w+): (\d+) contacts$", text, re.M))
    if res:
        R["segments"] = {k: {"ms": v / 1e3, "contacts": int(counts[k])} for k, v in res.items()
                         if k in counts}
    else:
        R["segments"] = None
        R["notes"].append(f"segment bench did not run (rc {rc}): {text.strip()[-400:]}")


# ---------------------------------------------------------------- main

from report import write  # noqa: E402  (bench/report.py)


def main():
    t0 = time.time()
    R["cores"] = os.cpu_count()
    R["cpu"] = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    R["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    R["load_before"] = os.getloadavg()
    R["secs"], R["rounds"] = SECS, ROUNDS
    steps = [("tracking sqlite", lambda: tracking("sqlite")), ("group commit sqlite", lambda: group_commit("sqlite"))]
    if "pg" not in SKIP:
        steps += [("tracking postgres", lambda: tracking("postgres")),
                  ("group commit postgres", lambda: group_commit("postgres"))]
    steps += [("rendering", rendering), ("sending", sending)]
    if "campaign" not in SKIP:
        steps.append(("campaign", campaign))
    if "segments" not in SKIP:
        steps.append(("segments", segments))
    for name, f in steps:
        log(f"== {name}")
        t = time.time()
        try:
            f()
        except Exception as e:  # one broken step must not hide the others' numbers
            log(f"{name} failed: {e!r}")
            R["notes"].append(f"{name} failed: {e!r}"[:500])
        log(f"   {name}: {time.time() - t:.0f}s")
    R["total_secs"] = time.time() - t0
    write(R, os.path.join(ROOT, "bench", "results"))


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
