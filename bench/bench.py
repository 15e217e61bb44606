#!/usr/bin/env python3
"""`make bench`: measure jkjav against this machine's own ceilings, in one run.

Starts its own redis-server and a release-built jkjav (data/bench.toml) on free loopback ports,
then measures with standard tools (hey, wrk, redis-benchmark):

- the floors: the same server's /healthz (HTTP floor, with hey and with wrk, since each tool
  is compared with itself) and redis-benchmark running the booking script (Redis floor);
- the seed's two README load tests, verbatim apart from host and port;
- reads: GET /stations/PWTC and the v1 availability endpoint;
- bookings by distinct people against BENCH, and bookings against a sold-out slot (FULL);
- a read at 1,000 connections for peak memory.

Afterwards it checks that every confirmation the clients received is a place taken in Redis
(and the reverse), then writes bench/results.md and bench/results.svg and refreshes the
figures in README.md. Standard library only.
"""

import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
THREADS = 2  # wrk threads: this machine's cores are shared with the server
SEED_POST_BODY = (
    '{"address":"Kuala Lumpur","date":"20210516","firstName":"Fadhil","lastName":"Yaacob",'
    '"location":"PWTC","mysejahteraId":"900127015527","phoneNumber":"0123456789"}'
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(tool):
    if shutil.which(tool) is None:
        sys.exit(f"bench: {tool} is missing (make bench installs it with apt-get)")


def wait_http(url, deadline=30):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    sys.exit(f"bench: {url} did not answer 200 within {deadline} s")


def rss_mb(pid):
    """(current RSS, peak RSS) in MB from /proc: VmRSS and VmHWM."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = {}
    for key in ("VmRSS", "VmHWM"):
        m = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
        values[key] = int(m.group(1)) / 1024 if m else float("nan")
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid):
    """User + system CPU time a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seconds(value, unit):
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "secs": 1.0}[unit]


def run(cmd, env=None):
    print("  $ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=SECONDS * 6 + 120)
    if out.returncode != 0:
        sys.exit(f"bench: {cmd[0]} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


def parse_hey(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for pct, value in re.findall(r"(\d+)% in ([\d.]+) secs", text):
        lat[int(pct)] = float(value)
    statuses = {int(c): int(n) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", text)}
    return {"rps": rps, "p50": lat.get(50), "p99": lat.get(99), "statuses": statuses}


def parse_wrk(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    block = text.split("Latency Distribution", 1)[1] if "Latency Distribution" in text else ""
    for pct, value, unit in re.findall(r"(\d+)%\s+([\d.]+)(us|ms|s)\b", block):
        lat[int(pct)] = seconds(value, unit)
    statuses = {}
    for name, count in re.findall(r"STATUS s(\w+) (\d+)", text):
        if int(count):
            statuses[name] = int(count)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": rps,
        "p50": lat.get(50),
        "p99": lat.get(99),
        "statuses": statuses,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


class Bench:
    def __init__(self, binary=None):
        self.binary = binary or ROOT / "target" / "release" / "jkjav"
        self.tmp = tempfile.mkdtemp(prefix="jkjav-bench-")
        self.redis_port = free_port()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # The operators' listener: /metrics is not on the public address.
        self.admin_port = free_port()
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        self.procs = []
        self.rows = []
        self.app = None

    # ---- processes ----------------------------------------------------------------------
    def start(self):
        redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(redis)
        for _ in range(100):
            if self.redis("PING").strip() == "PONG":
                break
            time.sleep(0.05)
        env = dict(os.environ)
        env.update({
            "PORT": str(self.port),
            "JKJAV_HOST": "127.0.0.1",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}",
            # Required with REDIS_URL (every instance signs booking passes with it).
            "JKJAV_COOKIE_KEY": "bench-cookie-key-0123456789abcdef0123456789",
            "JKJAV_CATALOGUE": str(ROOT / "data" / "bench.toml"),
            # Production's level: a log line per request would be the benchmark's bottleneck.
            "JKJAV_LOG": "warn",
            "JKJAV_ADMIN_ADDR": f"127.0.0.1:{self.admin_port}",
            # All load comes from 127.0.0.1; in production these limits are per client address.
            "JKJAV_BOOKING_POSTS_PER_IP_PER_MIN": "0",
            "JKJAV_MAX_CONNECTIONS_PER_CLIENT": "0",
        })
        env.pop("KAFKA_BROKERS", None)
        self.app = subprocess.Popen(
            [str(self.binary), "serve"], env=env,
            stdout=open(Path(self.tmp) / "jkjav.log", "w"), stderr=subprocess.STDOUT)
        self.procs.append(self.app)
        wait_http(self.base + "/readyz")

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def redis(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.redis_port), *args],
                             capture_output=True, text=True)
        return out.stdout

    # ---- measurements -------------------------------------------------------------------
    def cpu(self):
        return time.monotonic(), cpu_seconds(self.app.pid), cpu_seconds(self.procs[0].pid)

    def record(self, name, tool, conns, result, before, floor=None, target=None, note=""):
        _, peak = rss_mb(self.app.pid)
        now, app_cpu, redis_cpu = self.cpu()
        wall = now - before[0]
        result["app_cpu"] = (app_cpu - before[1]) / wall
        result["redis_cpu"] = (redis_cpu - before[2]) / wall
        row = {"name": name, "tool": tool, "conns": conns, "floor": floor, "target": target,
               "note": note, "peak_rss_mb": peak, **result}
        self.rows.append(row)
        print(f"    {result['rps']:.0f} req/s, p50 {fmt_ms(result['p50'])}, "
              f"p99 {fmt_ms(result['p99'])}, statuses {result.get('statuses')}, "
              f"peak RSS {peak:.1f} MB, CPU jkjav {result['app_cpu']:.0%} redis "
              f"{result['redis_cpu']:.0%}", flush=True)
        return row

    def hey(self, name, args, conns, floor=None, target=None, note=""):
        print(f"- {name}", flush=True)
        before = self.cpu()
        result = parse_hey(run(["hey", *args]))
        return self.record(name, "hey", conns, result, before, floor, target, note)

    def wrk(self, name, path, conns, script=None, env=None, floor=None, target=None, note=""):
        print(f"- {name}", flush=True)
        cmd = ["wrk", f"-t{THREADS}", f"-c{conns}", f"-d{SECONDS}s", "--latency",
               "--timeout", "10s"]
        if script:
            cmd += ["-s", str(script)]
        cmd.append(self.base + path)
        full_env = dict(os.environ, **(env or {}))
        before = self.cpu()
        result = parse_wrk(run(cmd, full_env))
        return self.record(name, "wrk", conns, result, before, floor, target, note)

    def redis_floor(self):
        """redis-benchmark running the booking script itself: EVALSHA with distinct people."""
        print("- Redis floor: redis-benchmark EVALSHA book.lua", flush=True)
        script = (ROOT / "src" / "store" / "redis" / "book.lua").read_text()
        sha = self.redis("SCRIPT", "LOAD", script).strip()
        tag = "jkjav:{floor}:"
        self.redis("HSET", tag + "capacity", "BENCH:20210516:0900-1700", "1000000000")
        booking = json.dumps({"note": "x" * 300})
        event = json.dumps({"note": "y" * 300})
        requests = 50_000 * SECONDS
        before = self.cpu()
        out = run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(self.redis_port),
                   "-c", "100", "-n", str(requests), "--threads", "2", "-r", "1000000000",
                   "--csv", "EVALSHA", sha, "5", tag + "capacity", tag + "taken",
                   tag + "holders", tag + "booking:__rand_int__", tag + "outbox",
                   "BENCH:20210516:0900-1700", "mykad:__rand_int__", "REF__rand_int__",
                   booking, "PWTC", event])
        rows = [line for line in out.splitlines() if line.startswith('"EVALSHA')]
        cells = [c.strip('"') for c in rows[-1].split(",")]
        # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        now, _, redis_cpu = self.cpu()
        result = {"rps": float(cells[1]), "p50": float(cells[4]) / 1000,
                  "p99": float(cells[6]) / 1000, "statuses": {}, "app_cpu": None,
                  "redis_cpu": (redis_cpu - before[2]) / (now - before[0])}
        self.redis("DEL", tag + "capacity", tag + "taken", tag + "holders", tag + "outbox")
        self.rows.append({"name": "Redis floor: EVALSHA book.lua", "tool": "redis-benchmark",
                          "conns": 100, "floor": None, "target": None,
                          "note": "the booking script alone, no HTTP", "peak_rss_mb": None,
                          **result})
        print(f"    {result['rps']:.0f} ops/s, p50 {fmt_ms(result['p50'])}, p99 {fmt_ms(result['p99'])}")
        return result

    def book_once(self, centre, window, id_number):
        body = json.dumps({"centre": centre, "date": "2021-05-16", "window": window,
                           "idNumber": id_number, "name": "Bench Filler",
                           "phone": "0123456789", "address": "Jalan Ujian 1, Shah Alam"})
        request = urllib.request.Request(self.base + "/api/v1/bookings", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status

    def metrics(self):
        with urllib.request.urlopen(self.admin + "/metrics", timeout=5) as r:
            return r.read().decode()

    def go(self):
        """Each measured run follows its own floor run (same tool, same connections), so every
        ratio compares two adjacent periods on this shared machine."""
        d = f"{SECONDS}s"

        def hey_floor(conns):
            return self.hey(f"HTTP floor: GET /healthz (hey, c{conns})",
                            ["-c", str(conns), "-z", d, f"{self.base}/healthz"], conns)

        def wrk_floor(conns):
            return self.wrk(f"HTTP floor: GET /healthz (wrk, c{conns})", "/healthz", conns)

        # The seed's README commands, verbatim apart from host and port.
        floor = hey_floor(50)
        self.hey("seed README: GET /stations/PWTC",
                 ["-c", "50", "-z", "10s", f"{self.base}/stations/PWTC"], 50,
                 floor=floor, target=0.8)
        floor = hey_floor(100)
        self.hey("seed README: POST /booking (one person, repeated)",
                 ["-c", "100", "-z", "5s", "-T", "application/json", "-m", "POST",
                  "-d", SEED_POST_BODY, f"{self.base}/booking"], 100, floor=floor,
                 note="one identity number: 1 booking, then 400 already booked or 429")

        floor = wrk_floor(100)
        self.wrk("read: GET /stations/PWTC", "/stations/PWTC", 100, floor=floor, target=0.8)
        floor = wrk_floor(100)
        self.wrk("read: GET /api/v1/centres/PWTC/availability",
                 "/api/v1/centres/PWTC/availability", 100, floor=floor, target=0.8)
        floor = wrk_floor(100)
        self.wrk("book: distinct people, BENCH", "/api/v1/bookings", 100,
                 script=BENCH / "book.lua", env={"BENCH_CENTRE": "BENCH", "BENCH_PLACE_BASE": "1"},
                 floor=floor, target=0.6, note="p99 target 10 ms")
        assert self.book_once("FULL", "09:00-17:00", "850101105001") == 201
        floor = wrk_floor(100)
        self.wrk("book: sold-out slot (FULL)", "/api/v1/bookings", 100,
                 script=BENCH / "book.lua",
                 env={"BENCH_CENTRE": "FULL", "BENCH_PLACE_BASE": "21"},
                 floor=floor, target=0.8)
        self.redis_floor()
        floor = wrk_floor(1000)
        self.wrk("read: v1 availability, 1,000 conns", "/api/v1/centres/PWTC/availability",
                 1000, floor=floor, target=0.8, note="peak RSS target 100 MB")

    # ---- truth check --------------------------------------------------------------------
    def verify(self):
        """No false confirmation: every confirmation the server sent is a place taken in Redis
        by a distinct person, and the reverse. Clients can only have received fewer: a load
        tool stops its clock with responses still in flight, and drops them."""
        received = 1  # the booking that filled FULL
        for row in self.rows:
            s = row.get("statuses") or {}
            if row["tool"] == "hey" and "POST" in row["name"]:
                received += s.get(200, 0)
            if row["tool"] == "wrk":
                received += s.get("201", 0)
        text = self.metrics()
        sent = 0
        for route, status in (("/api/v1/bookings", "201"), ("/booking", "200")):
            pattern = (rf'^jkjav_http_requests_total\{{route="{re.escape(route)}",method="POST",'
                       rf'status="{status}"\}} (\d+)')
            sent += sum(int(n) for n in re.findall(pattern, text, re.M))
        m = re.search(r"^jkjav_bookings_confirmed_total (\d+)", text, re.M)
        confirmed = int(m.group(1)) if m else -1
        taken = sum(int(v) for v in self.redis("HVALS", "jkjav:{bench}:taken").split())
        holders = int(self.redis("HLEN", "jkjav:{bench}:holders").strip() or 0)
        ok = confirmed == taken == holders and received <= sent <= confirmed
        return {"received": received, "sent": sent, "confirmed": confirmed, "taken": taken,
                "holders": holders, "ok": ok}


def fmt_ms(value):
    if value is None:
        return "–"
    return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"


def per_request(row):
    cpu = row.get("app_cpu")
    return "" if cpu is None or not row["rps"] else f"{cpu / row['rps'] * 1e6:.0f} µs"


def pct(value):
    return "" if value is None else f"{value:.0%}"


def machine():
    cpu = "unknown CPU"
    try:
        m = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} × {cpu}{mem}, {platform.system()} {platform.release()}"


def verdict(row):
    if row["target"] is None or row["floor"] is None:
        return ""
    ratio = row["rps"] / row["floor"]["rps"]
    parts = []
    ok = ratio >= row["target"]
    shortfall = (ratio / row["target"] - 1) * 100
    parts.append(f"≥{row['target']:.1f}× " + ("✓" if ok else f"✗ ({shortfall:+.1f}%)"))
    if "p99 target" in row["note"]:
        p99_ok = row["p99"] is not None and row["p99"] <= 0.010
        parts.append(f"p99≤10 ms {'✓' if p99_ok else '✗'}")
    if "RSS target" in row["note"]:
        parts.append(f"RSS≤100 MB {'✓' if row['peak_rss_mb'] <= 100 else '✗'}")
    return ", ".join(parts)


def statuses_text(row):
    s = row.get("statuses") or {}
    if not s:
        return ""
    return " ".join(f"{str(k).lstrip('s')}×{v}" for k, v in sorted(s.items(), key=lambda kv: str(kv[0])))


def write_markdown(rows, truth, when):
    lines = [
        f"Measured {when} on {machine()}, with `make bench` (load tools, redis-server and jkjav "
        f"all on this machine; jkjav at `JKJAV_LOG=warn`, Redis without persistence; "
        f"{SECONDS} s per run unless the seed's command says otherwise; each measured run is "
        f"compared with the floor run just before it).",
        "",
        "| run | tool | conns | requests/s | p50 | p99 | × floor | target | statuses | peak RSS "
        "| CPU jkjav | CPU redis | jkjav CPU per request |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row['rps'] / row['floor']['rps']:.2f}" if row["floor"] else "floor"
        rss = f"{row['peak_rss_mb']:.0f} MB" if row["peak_rss_mb"] else ""
        lines.append(
            f"| {row['name']} | {row['tool']} | {row['conns']} | {row['rps']:,.0f} | "
            f"{fmt_ms(row['p50'])} | {fmt_ms(row['p99'])} | {ratio} | {verdict(row)} | "
            f"{statuses_text(row)} | {rss} | {pct(row.get('app_cpu'))} | "
            f"{pct(row.get('redis_cpu'))} | {per_request(row)} |")
    lines += [
        "",
        f"Truth check: the booking step confirmed {truth['confirmed']:,} bookings; Redis holds "
        f"{truth['taken']:,} places taken by {truth['holders']:,} distinct people: "
        + ("**equal — no false confirmation, no lost booking**" if truth["ok"] else "**MISMATCH**")
        + f". The server sent {truth['sent']:,} confirmations and the load tools received "
        f"{truth['received']:,}: the others were in flight when a tool stopped its clock and "
        f"hung up (those people were booked but not told; a lookup shows the booking).",
        "",
        "Peak RSS is the server's VmHWM (/proc) at the end of each run, so it is cumulative. "
        "CPU is the share of one core each process used during the run (200% = both cores); "
        "the load tool used the rest.",
    ]
    (BENCH / "results.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def write_svg(rows):
    bars = [r for r in rows]
    width, left, bar_h, gap, top = 900, 330, 22, 8, 40
    height = top + len(bars) * (bar_h + gap) + 30
    peak = max(r["rps"] for r in bars)
    scale = (width - left - 110) / peak
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        f'jkjav make bench: requests per second (floors in grey)</text>',
    ]
    for i, row in enumerate(bars):
        y = top + i * (bar_h + gap)
        floor = row["floor"] is None
        colour = "#9e9e9e" if floor else (
            "#2e7d32" if row["target"] is None or row["rps"] / row["floor"]["rps"] >= row["target"]
            else "#c62828")
        if not floor and row["target"] is None:
            colour = "#1565c0"
        w = max(1, row["rps"] * scale)
        label = f"{row['name']} ({row['tool']}, c{row['conns']})"
        out.append(f'<text x="{left - 6}" y="{y + bar_h * 0.7}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h * 0.7}">{row["rps"]:,.0f}/s</text>')
    out.append(f'<text x="{left}" y="{height - 8}" fill="#555">green: target met · red: '
               f'target missed · blue: no target · grey: floor</text>')
    out.append("</svg>")
    (BENCH / "results.svg").write_text("\n".join(out) + "\n")


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def update_readme(markdown, section="bench"):
    """Replaces the README's text between <!-- SECTION:start --> and <!-- SECTION:end -->."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        readme.write_text(f"{before}{start}\n{markdown}\n{end}{after}")


def main():
    for tool in ("hey", "wrk", "redis-server", "redis-cli", "redis-benchmark"):
        need(tool)
    binary = ROOT / "target" / "release" / "jkjav"
    if not binary.exists():
        sys.exit("bench: build first: cargo build --release")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(65536, hard), hard))
    bench = Bench()
    try:
        bench.start()
        bench.go()
        truth = bench.verify()
    finally:
        bench.stop()
    when = time.strftime("%Y-%m-%d")
    markdown = write_markdown(bench.rows, truth, when)
    write_svg(bench.rows)
    update_readme(f"{markdown}\n\n![make bench results](bench/results.svg)")
    print()
    print(markdown)
    if not truth["ok"]:
        sys.exit("bench: confirmations and places taken differ")


if __name__ == "__main__":
    main()
