#!/usr/bin/python3
"""The HTTP front of pulse-sidecar and of its adapter under idle and slow clients.

  bench/http_front.py [BUILD_DIR] [--requests 100] [--spacing 0.12] [--idle 2000]
                      [--slow 200] [--hello 200] [--wrk-seconds 5]

Starts one nginx with the module (BUILD_DIR/ngx_http_pulse_module.so) and a real
`pulse-sidecar run` scraping it, with the servers' default limits (--max-connections 4096,
TLS handshake 5 s, request head 10 s from accept, keep-alive idle 60 s). Then:

  1. the sidecar's resident memory (VmRSS) at rest, with --idle TCP connections open
     (connected, nothing sent), and about 10 s after they close (the server trims its
     heap every 5 s once many connections have closed);
  2. GET /readyz on the sidecar, a fresh connection each (a kubelet probe), --requests of
     them one every --spacing seconds: quiet, then while --idle idle connections and
     --slow slowloris connections (the request line, then one header byte a second) are
     held; p50 and p99 (target p99 under 50 ms, "OVER TARGET" beside a figure above it);
  3. the same for `pulse-sidecar adapter` (TLS, with 4 sidecars behind it, 20 pods in the
     fake Kubernetes API, as bench/adapter_latency.py): /readyz without a certificate and
     adapter_latency.py's pods-metric request with the front-proxy client certificate,
     alternating, quiet then under --idle idle TCP + --slow slowloris (inside TLS) +
     --hello connections stopped in the middle of a TLS handshake (the first 50 bytes of
     a real ClientHello, then nothing); the adapter's VmRSS at rest, held, after;
  4. GET /signals on the sidecar, requests a second on 1 and on 50 keep-alive connections
     (wrk; a Python client only when wrk is missing).

The servers close an idle or slow connection when its deadline passes; the holder (a
separate process, so that its work does not delay the timed client's) opens a new one at
once, as an attacker would, so the counts stay up for the whole measurement. The timed
series last longer than those deadlines, so they include the servers closing and the
holder reopening thousands of connections at once. How many the servers closed is
printed with each held figure.

Figures only: nothing passes or fails on time. The exit status is non-zero when the
benchmark cannot run or an answer is wrong (a probe that is not a 200, a failed
request, a pods answer without one item per pod, wrk's non-2xx responses). Everything
listens on 127.0.0.1 on free ports; only processes started here are stopped, by pid.
"""

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import re
import resource
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapter_latency as al  # noqa: E402  (also puts tests/integration on sys.path)
import pulse_harness as ph  # noqa: E402

TARGET_MS = 50.0
HELLO_BYTES = 50
SLOW_LINE = b"GET /readyz HTTP/1.1\r\n"
SLOW_DRIP = b"X-a: b\r\n"  # one byte a second, over and over: the head never ends


class WrongAnswer(Exception):
    pass


# ---------------------------------------------------------------------------
# The holder: a child process that keeps groups of connections open


def partial_client_hello(n=HELLO_BYTES):
    """The first n bytes of a real TLS ClientHello (OpenSSL's, through an SSLObject)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=ph.LOOPBACK)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    if len(hello) < n or hello[0] != 0x16:
        raise RuntimeError(f"no ClientHello from the TLS library ({len(hello)} bytes)")
    return hello[:n]


class _Group:
    """n connections of one kind to one port: idle (nothing sent), slow (a request head
    one byte a second, plain or inside TLS), hello (a partial ClientHello, then nothing)."""

    def __init__(self, name, kind, port, n, tls):
        self.name, self.kind, self.port, self.n, self.tls = name, kind, port, n, tls
        self.conns = set()
        self.closed_by_server = 0
        self.failed = 0
        self.last_error = ""


class _Conn:
    def __init__(self, group, sock):
        self.group, self.sock, self.sent = group, sock, 0


class _Holder:
    def __init__(self, pipe):
        self.pipe = pipe
        self.sel = selectors.DefaultSelector()  # epoll: thousands of descriptors
        self.sel.register(pipe.fileno(), selectors.EVENT_READ, None)
        self.groups = {}
        self.hello = partial_client_hello()
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # a client without a certificate
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    def open_one(self, g):
        sock = None
        try:
            sock = socket.create_connection((ph.LOOPBACK, g.port), timeout=5)
            if g.kind == "slow":
                if g.tls:
                    sock = self.tls.wrap_socket(sock, server_hostname=ph.LOOPBACK)
                sock.sendall(SLOW_LINE)
            elif g.kind == "hello":
                sock.sendall(self.hello)
            sock.setblocking(False)
        except OSError as e:  # ssl.SSLError included
            g.failed += 1
            g.last_error = f"{type(e).__name__}: {e}"
            if sock is not None:
                sock.close()
            return False
        c = _Conn(g, sock)
        g.conns.add(c)
        self.sel.register(sock, selectors.EVENT_READ, c)
        return True

    def drop(self, c):
        self.sel.unregister(c.sock)
        c.group.conns.discard(c)
        try:
            c.sock.close()
        except OSError:
            pass

    def readable(self, c):
        try:
            while True:
                if not c.sock.recv(4096):
                    break  # the server closed
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return  # nothing for us (a TLS 1.3 session ticket, say): still open
        except OSError:
            pass  # a reset
        c.group.closed_by_server += 1
        self.drop(c)
        self.open_one(c.group)  # at once, as an attacker would (failures: top_up retries)

    def top_up(self):
        for g in self.groups.values():
            for _ in range(g.n - len(g.conns)):
                if not self.open_one(g):
                    break  # try again at the next tick

    def drip(self):
        for g in self.groups.values():
            if g.kind != "slow":
                continue
            for c in list(g.conns):
                byte = SLOW_DRIP[c.sent % len(SLOW_DRIP):c.sent % len(SLOW_DRIP) + 1]
                try:
                    if c.sock.send(byte) == 1:
                        c.sent += 1
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except OSError:
                    g.closed_by_server += 1
                    self.drop(c)

    def status(self):
        return {name: {"open": len(g.conns), "closed_by_server": g.closed_by_server,
                       "failed": g.failed, "last_error": g.last_error}
                for name, g in self.groups.items()}

    def command(self, msg):
        op = msg[0]
        if op == "open":
            _, name, kind, port, n, tls = msg
            g = self.groups[name] = _Group(name, kind, port, n, tls)
            t0 = time.monotonic()
            for _ in range(n):
                self.open_one(g)
            return {"open": len(g.conns), "failed": g.failed, "last_error": g.last_error,
                    "seconds": time.monotonic() - t0}
        if op == "status":
            return self.status()
        if op == "close":
            st = self.status()
            for g in self.groups.values():
                for c in list(g.conns):
                    self.drop(c)
            self.groups.clear()
            return st
        raise ValueError(f"unknown command {op!r}")

    def run(self):
        next_tick = time.monotonic() + 1
        while True:
            for key, _ in self.sel.select(max(0.0, next_tick - time.monotonic())):
                if key.data is None:
                    try:
                        msg = self.pipe.recv()
                    except EOFError:
                        return  # the parent is gone
                    if msg[0] == "quit":
                        self.command(("close",))
                        self.pipe.send("bye")
                        return
                    try:
                        self.pipe.send(("ok", self.command(msg)))
                    except Exception as e:  # reported to the parent
                        self.pipe.send(("error", f"{type(e).__name__}: {e}"))
                elif key.data.group.name in self.groups and key.data in key.data.group.conns:
                    self.readable(key.data)
            if time.monotonic() >= next_tick:
                next_tick += 1
                self.drip()
                self.top_up()


def _holder_main(pipe):
    _Holder(pipe).run()


class Holder:
    """The parent's end: holds groups of connections in a child process."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=_holder_main, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def call(self, *msg, timeout=120):
        self.pipe.send(msg)
        if not self.pipe.poll(timeout):
            raise RuntimeError(f"the connection holder did not answer {msg[0]!r}")
        kind, value = self.pipe.recv()
        if kind != "ok":
            raise RuntimeError(f"the connection holder: {value}")
        return value

    def open(self, name, kind, port, n, tls=False):
        r = self.call("open", name, kind, port, n, tls)
        if r["open"] < n:
            raise RuntimeError(f"opened {r['open']} of {n} {name} connections: {r['last_error']}")
        return r

    def stop(self):
        if self.proc is None:
            return
        try:
            self.pipe.send(("quit",))
            if self.pipe.poll(30):
                self.pipe.recv()
        except (OSError, EOFError):
            pass
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()  # SIGTERM to its pid
            self.proc.join(10)
        self.proc = None


# ---------------------------------------------------------------------------
# measurements


def rss_mb(pid):
    return int(al.proc_status(pid, "VmRSS").split()[0]) / 1024


def sockets_open(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def timed_get(port, path, context=None, expect=None):
    """One GET on a fresh connection (TLS with context): seconds from connect to the last
    byte of the body. Raises WrongAnswer for a status other than 200 (or expect's verdict)."""
    if context is None:
        conn = http.client.HTTPConnection(ph.LOOPBACK, port, timeout=10)
    else:
        conn = http.client.HTTPSConnection(ph.LOOPBACK, port, timeout=10, context=context)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        dt = time.perf_counter() - t0
    finally:
        conn.close()
    if r.status != 200:
        raise WrongAnswer(f"{path} answered {r.status}: {body[:200]!r}")
    if expect is not None:
        expect(r.status, body)
    return dt


def pods_check(pods):
    def expect(status, body):
        try:
            al.check(status, body, pods)  # exits on a wrong answer: turned into an error
        except SystemExit as e:
            raise WrongAnswer(str(e.code)) from None
    return expect


def series(probes, n, spacing):
    """n rounds of probes (label -> function returning seconds), one request every
    spacing seconds. Returns label -> (seconds list, errors list)."""
    out = {label: ([], []) for label in probes}
    start, k = time.monotonic(), 0
    for _ in range(n):
        for label, fn in probes.items():
            delay = start + k * spacing - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            k += 1
            try:
                out[label][0].append(fn())
            except (OSError, http.client.HTTPException, WrongAnswer) as e:
                out[label][1].append(f"{type(e).__name__}: {e}")
    return out


def report(label, result, failures):
    seconds, errors = result
    if not seconds:
        print(f"    {label:<46} every request failed ({len(errors)}): {errors[0]}")
        failures.append(f"{label}: {errors[0]}")
        return
    ms = [s * 1000 for s in seconds]
    p99 = al.percentile(ms, 0.99)
    over = "  OVER TARGET" if p99 > TARGET_MS else ""
    print(f"    {label:<46} p50 {al.percentile(ms, 0.5):6.2f} ms   p99 {p99:7.2f} ms{over}"
          f"   (max {max(ms):7.2f} ms, n={len(ms)})")
    if errors:
        print(f"    {'':<46} {len(errors)} of {len(ms) + len(errors)} FAILED, e.g. {errors[0]}")
        failures.append(f"{label}: {len(errors)} failed, e.g. {errors[0]}")


def held_summary(status, what):
    parts = []
    for name, s in status.items():
        parts.append(f"{s['open']} {name}")
    closed = ", ".join(f"{s['closed_by_server']} {name}" for name, s in status.items())
    failed = [f"{s['failed']} {name} ({s['last_error']})" for name, s in status.items() if s["failed"]]
    print(f"    held at the end: {', '.join(parts)}; closed by {what} meanwhile (deadlines,"
          f" reopened at once by the holder): {closed}")
    if failed:
        print(f"    the holder could not reopen: {'; '.join(failed)}")


def after_close(pid, seconds=10.5):
    time.sleep(1)
    one = rss_mb(pid)
    time.sleep(seconds - 1)
    return one, rss_mb(pid)


def wrk_rps(port, threads, conns, seconds, failures):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", f"http://{ph.LOOPBACK}:{port}/signals"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}")
    total = re.search(r"(\d+) requests in", r.stdout)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", r.stdout)
    sock = re.search(r"Socket errors:.*", r.stdout)
    note = ""
    if bad:
        note += f"  {bad.group(1)} NON-2xx answers"
        failures.append(f"wrk -c{conns}: {bad.group(1)} non-2xx answers")
    if sock:
        note += f"  ({sock.group(0).strip()})"
    return float(m.group(1)), int(total.group(1)) if total else 0, note


def python_rps(port, conns, seconds):
    """Fallback without wrk: keep-alive GET /signals from conns threads (bounded by Python)."""
    counts = [0] * conns
    errors = []
    end = time.monotonic() + seconds

    def loop(i):
        try:
            conn = http.client.HTTPConnection(ph.LOOPBACK, port, timeout=10)
            while time.monotonic() < end:
                conn.request("GET", "/signals")
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors.append(r.status)
                counts[i] += 1
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            errors.append(str(e))

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(conns)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0), sum(counts), errors


# ---------------------------------------------------------------------------


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < need:
        sys.exit(f"bench: {need} descriptors needed, the open file limit is {soft}")
    return soft


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=str(al.REPO / "build"))
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--spacing", type=float, default=0.12)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--hello", type=int, default=200)
    ap.add_argument("--pods", type=int, default=20)
    ap.add_argument("--sidecars", type=int, default=4)
    ap.add_argument("--wrk-seconds", type=int, default=5)
    args = ap.parse_args()
    os.environ["PULSE_BUILD_DIR"] = str(Path(args.build).resolve())
    limit = raise_fd_limit(args.idle + args.slow + args.hello + 256)

    work = Path(tempfile.mkdtemp(prefix="pulse-bench-front-"))
    started, failures = [], []
    holder = None
    kube = None
    n, spacing = args.requests, args.spacing
    try:
        holder = Holder()
        ng = ph.Nginx(work / "nginx", al.NGINX)
        started.append(ng)
        ng.start()
        sc = ph.Sidecar(ng.url("http", "/metrics"), base=work / "sidecar")
        started.append(sc)
        sc.start()
        ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
        spid = sc.proc.pid
        status, _, body = sc.get("/signals")
        if status != 200 or "pod" not in json.loads(body):
            sys.exit(f"bench: the sidecar's /signals answered {status}: {body[:200]!r}")

        span = n * spacing
        binary = ph.sidecar_path()
        digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
        print(f"pulse-sidecar HTTP front: {binary}, sha256 {digest}..., file dated"
              f" {time.strftime('%F %T', time.localtime(binary.stat().st_mtime))}")
        print(f"  default limits (--max-connections 4096, ...); open file limit here {limit}")
        print(f"  probes: GET on a fresh connection each, {n} per series, one every "
              f"{spacing * 1000:.0f} ms ({span:.0f} s); target p99 under {TARGET_MS:.0f} ms")
        print("  held connections are reopened as soon as a server closes them (its deadlines:"
              " TLS handshake 5 s, request head 10 s from accept)")
        print()
        print(f"  sidecar (pulse-sidecar run, scraping nginx with the module), pid {spid}")
        for _ in range(10):
            timed_get(sc.port, "/readyz")
        time.sleep(1)
        quiet = series({"GET /readyz, quiet": lambda: timed_get(sc.port, "/readyz")}, n, spacing)
        rest = rss_mb(spid)
        r = holder.open("idle", "idle", sc.port, args.idle)
        time.sleep(2)
        idle_rss, idle_socks = rss_mb(spid), sockets_open(spid)
        holder.open("slowloris", "slow", sc.port, args.slow)
        held = series({f"GET /readyz, {args.idle} idle + {args.slow} slowloris":
                       lambda: timed_get(sc.port, "/readyz")}, n, spacing)
        held_rss, held_socks = rss_mb(spid), sockets_open(spid)
        st = holder.call("close")
        one, ten = after_close(spid)
        report("GET /readyz, quiet", quiet["GET /readyz, quiet"], failures)
        for label, res in held.items():
            report(label, res, failures)
        held_summary(st, "the sidecar")
        print(f"    resident memory: at rest {rest:.1f} MB; {args.idle} idle connections open"
              f" {idle_rss:.1f} MB ({idle_socks} sockets in the sidecar, opened in {r['seconds']:.1f} s);"
              f" + {args.slow} slowloris at the end of the series {held_rss:.1f} MB ({held_socks} sockets)")
        print(f"                     after they closed: {one:.1f} MB at +1 s, {ten:.1f} MB at +10 s"
              f" (peak VmHWM {al.proc_status(spid, 'VmHWM')})")

        print(f"  GET /signals, keep-alive, {args.wrk_seconds} s each:")
        if shutil.which("wrk"):
            for t, c in ((1, 1), (2, 50)):
                rps, total, note = wrk_rps(sc.port, t, c, args.wrk_seconds, failures)
                print(f"    wrk -t{t} -c{c:<3} {rps:10,.0f} requests/s ({total:,} requests){note}")
        else:
            for c in (1, 50):
                rps, total, errs = python_rps(sc.port, c, args.wrk_seconds)
                print(f"    Python, {c:>2} connection(s) {rps:10,.0f} requests/s ({total:,} requests;"
                      f" wrk is not installed, the client is the bound)")
                if errs:
                    failures.append(f"/signals with {c} connections: {len(errs)} errors, e.g. {errs[0]}")
        print(f"    sidecar resident memory after: {rss_mb(spid):.1f} MB")
        sc.stop()
        started.remove(sc)

        # The adapter, set up as bench/adapter_latency.py does.
        print()
        adapter, kube = al.start_adapter(ng, work, args.sidecars, args.pods, started)
        apid = adapter.proc.pid
        no_cert, front_proxy = adapter.ssl_context(cert=False), adapter.ssl_context()
        check_pods = pods_check(args.pods)
        probes = {
            "GET /readyz (TLS, no client certificate)":
                lambda: timed_get(adapter.port, "/readyz", no_cert),
            f"pods metric, {args.pods} pods (client certificate)":
                lambda: timed_get(adapter.port, al.PATH, front_proxy, check_pods),
        }
        print(f"  adapter (pulse-sidecar adapter, TLS; {args.pods} pods over {args.sidecars} sidecars,"
              f" fake Kubernetes API), pid {apid}; the two requests alternate")
        print(f"    pods metric: GET {al.PATH}")
        for _ in range(20):  # warm-up
            for fn in probes.values():
                fn()
        quiet = series(probes, n, spacing / 2)
        rest = rss_mb(apid)
        holder.open("idle", "idle", adapter.port, args.idle)
        holder.open("slowloris", "slow", adapter.port, args.slow, tls=True)
        holder.open("half-handshake", "hello", adapter.port, args.hello)
        time.sleep(2)
        held_rss, held_socks = rss_mb(apid), sockets_open(apid)
        held = series(probes, n, spacing / 2)
        end_rss, end_socks = rss_mb(apid), sockets_open(apid)
        st = holder.call("close")
        one, ten = after_close(apid)
        print("    quiet:")
        for label, res in quiet.items():
            report(label, res, failures)
        print(f"    held: {args.idle} idle TCP + {args.slow} slowloris (TLS) + {args.hello}"
              f" stopped after {HELLO_BYTES} bytes of ClientHello:")
        for label, res in held.items():
            report(label, res, failures)
        held_summary(st, "the adapter")
        print(f"    resident memory: at rest {rest:.1f} MB; held {held_rss:.1f} MB ({held_socks} sockets"
              f" in the adapter), at the end of the series {end_rss:.1f} MB ({end_socks} sockets)")
        print(f"                     after they closed: {one:.1f} MB at +1 s, {ten:.1f} MB at +10 s"
              f" (peak VmHWM {al.proc_status(apid, 'VmHWM')})")
        for p in started:
            if isinstance(p, (ph.Sidecar, al.AdapterProcess)) and p.proc.poll() is not None:
                failures.append(f"{p.cmd[1]} on port {p.port} exited {p.proc.returncode}")
    except (ph.HarnessError, RuntimeError, OSError, WrongAnswer) as e:
        sys.exit(f"bench: {e}")
    finally:
        if holder is not None:
            holder.stop()
        if kube is not None:
            kube.stop()
        for p in reversed(started):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("bench: wrong answers or failed requests:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
