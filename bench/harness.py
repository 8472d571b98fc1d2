"""Process, HTTP and database helpers for bench/bench.py: the servers it measures (Beacon, nginx),
the stores (a SQLite file, a fresh PostgreSQL database), wrk and a peak-RSS sampler. Every process
started here is remembered in CHILDREN and stopped by cleanup()."""
import json, os, re, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
TMP = tempfile.mkdtemp(prefix="beacon-bench-")
CHILDREN = []  # every process we started, stopped in cleanup()


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


def wrk(url, script, secs, conns=64, pid=None):
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


def wait_listening(port, secs=10):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")
