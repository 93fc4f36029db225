"""Helpers for the pulse integration tests: real nginx, a small upstream, Prometheus.

Standard library only (Debian's python3 and python3-pytest). Everything listens on
127.0.0.1, on ports picked free by binding port 0. Only processes started here are
ever signalled, always by pid.
"""

import base64
import ctypes
import fcntl
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NGINX_BIN = os.environ.get("PULSE_NGINX_BIN", "/usr/sbin/nginx")  # another nginx to test against
LOOPBACK = "127.0.0.1"


class HarnessError(RuntimeError):
    pass


# ---------------------------------------------------------------------------
# locations


def build_dir():
    return Path(os.environ.get("PULSE_BUILD_DIR") or REPO_ROOT / "build").resolve()


def module_path():
    """The module under test; PULSE_MODULE points at another build (a sanitized one)."""
    return Path(os.environ.get("PULSE_MODULE") or build_dir() / "ngx_http_pulse_module.so")


def nginx_env():
    """nginx's environment: PULSE_NGINX_PRELOAD is put in its LD_PRELOAD only (a
    sanitizer runtime for a sanitized module), never in the test process's own."""
    env = dict(os.environ)
    preload = os.environ.get("PULSE_NGINX_PRELOAD")
    if preload:
        env["LD_PRELOAD"] = preload
    return env


def require_module():
    path = module_path()
    if not path.is_file():
        raise HarnessError(f"module not built: run make (no {path})")
    return path


def tools_dir():
    return build_dir() / "tools"


def nginx_version(nginx_bin=None):
    """(1, 22, 1) for the nginx under test: where nginx itself differs between the
    versions the tests run against (Debian 12's 1.22, 1.26 from Debian 13's source)."""
    out = subprocess.run([nginx_bin or NGINX_BIN, "-v"], capture_output=True, text=True,
                         timeout=30).stderr
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise HarnessError(f"no version in {nginx_bin or NGINX_BIN} -v: {out!r}")
    return tuple(int(g) for g in m.groups())


# ---------------------------------------------------------------------------
# small utilities

_handed_out_ports = set()
_ports_lock = threading.Lock()


def free_port():
    """A loopback port that was free a moment ago and was not handed out before."""
    with _ports_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((LOOPBACK, 0))
                port = s.getsockname()[1]
            if port not in _handed_out_ports:
                _handed_out_ports.add(port)
                return port
    raise HarnessError("no free loopback port found")


def wait_for(predicate, timeout=30.0, interval=0.05, message="condition"):
    """Poll predicate() until it returns something truthy and return that.

    A readiness wait, not a timing assertion: keep timeouts generous.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def port_open(port, host=LOOPBACK):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"(no {path})"
    return "\n".join(text.splitlines()[-lines:])


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # state is the field after "(comm)"; comm may contain spaces or parens
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def child_pids(ppid):
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == ppid and fields[0] != "Z":
            children.append(int(entry))
    return sorted(children)


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper():
    """Daemonized nginx masters are orphans; adopt them so they can be reaped here
    instead of lingering as zombies under an init that may not reap."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    """Ends a child process we started: `sig`, then SIGKILL if it outlives `timeout`."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _make_world_readable(path):
    """chmod 0755 on path and add o+x on its ancestors inside the temp dir.

    Run as root, nginx workers are `nobody`: they must traverse to the instance dir
    (pytest makes its temp dirs 0700) to serve files and write temp files.
    """
    path = Path(path).resolve()
    os.chmod(path, 0o755)
    tmp_root = Path(tempfile.gettempdir()).resolve()
    for parent in path.parents:
        if parent == tmp_root or tmp_root not in parent.parents:
            break
        st = parent.stat()
        if st.st_uid == os.getuid() and not st.st_mode & stat.S_IXOTH:
            os.chmod(parent, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _fresh_dir(base, name):
    """A fresh directory from a pytest tmp_path_factory, a path, or None (system temp)."""
    if hasattr(base, "mktemp"):
        d = Path(base.mktemp(name))
    elif base is None:
        d = Path(tempfile.mkdtemp(prefix=f"pulse-{name}-"))
    else:
        d = Path(base)
        d.mkdir(parents=True, exist_ok=True)
    _make_world_readable(d)
    return d


def _write(path, text, mode=0o644):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    os.chmod(path, mode)


# ---------------------------------------------------------------------------
# HTTP clients


class HeaderDict(dict):
    """Response headers: lowercase name -> list of values, in arrival order."""

    def first(self, name, default=None):
        values = self.get(name.lower())
        return values[0] if values else default


def http_get(url, headers=None, method="GET", data=None, timeout=10):
    """One request on a fresh connection. Returns (status, HeaderDict, body bytes).

    Never raises on 4xx/5xx. A "Host" entry in headers replaces the default one.
    """
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if isinstance(data, str):
        data = data.encode()
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=dict(headers or {}))
        resp = conn.getresponse()
        body = resp.read()
        hdrs = HeaderDict()
        for name, value in resp.getheaders():
            hdrs.setdefault(name.lower(), []).append(value)
        return resp.status, hdrs, body
    finally:
        conn.close()


def raw_request(host, port, data, timeout=10, idle=1.0):
    """Send raw bytes and return whatever comes back.

    Reads until the server closes, or until nothing arrived for `idle` seconds once
    some data came (so a keep-alive answer does not hang; ask for Connection: close
    to get exact results), or `timeout` passed with no data at all.
    """
    if isinstance(data, str):
        data = data.encode()
    chunks = []
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            s.settimeout(idle)
    return b"".join(chunks)


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def websocket_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class WebSocketClient:
    """A raw-socket WebSocket upgrade. After the 101 the socket carries raw bytes
    (the test upstream echoes them; no framing)."""

    def __init__(self, host, port, path="/ws", host_header=None, timeout=10,
                 expect_101=True, extra_headers=None):
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.sock = socket.create_connection((host, port), timeout=timeout)
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host_header or f'{host}:{port}'}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{k}: {v}" for k, v in (extra_headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, self._pending = buf.partition(b"\r\n\r\n")
        self.response_head = head.decode(errors="replace")
        status_line, *header_lines = self.response_head.split("\r\n")
        fields = status_line.split(" ", 2)
        self.status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
        self.headers = HeaderDict()
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())

        if expect_101:
            if self.status != 101:
                self.close()
                raise HarnessError(f"websocket upgrade refused:\n{self.response_head}")
            if self.headers.first("sec-websocket-accept") != websocket_accept(self.key):
                self.close()
                raise HarnessError(f"bad Sec-WebSocket-Accept:\n{self.response_head}")

    def send(self, data):
        self.sock.sendall(data)

    def recv(self, n=65536):
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return self.sock.recv(n)

    def echo(self, data):
        """Send data and read back as many bytes."""
        self.send(data)
        got = b""
        while len(got) < len(data):
            chunk = self.recv(len(data) - len(got))
            if not chunk:
                break
            got += chunk
        return got

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# upstream

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _UpstreamHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pulse-test-upstream"

    def log_message(self, fmt, *args):
        pass

    def _handle(self):
        up = self.server.upstream
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length > 0 else b""
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        up._record(self.command, self.path, self.headers, body_in)

        path = parts.path
        status, extra, body = 200, [], None
        if path.startswith("/status/"):
            status = int(path.split("/")[2])
        elif path.startswith("/delay/"):
            time.sleep(int(path.split("/")[2]) / 1000.0)
        elif path.startswith("/cc/"):
            extra.append(("Cache-Control", urllib.parse.unquote(path[len("/cc/"):])))
        elif path == "/ws":
            return self._websocket()
        elif path == "/metrics":
            body = up.metrics_text().encode()
            extra.append(("Content-Type", METRICS_CONTENT_TYPE))

        if "ct" in query:
            extra.append(("Content-Type", query["ct"][0]))
        for value in query.get("cc", []):  # one Cache-Control line per cc=
            extra.append(("Cache-Control", value))
        if "status" in query:
            status = int(query["status"][0])
        if "size" in query:
            body = b"x" * int(query["size"][0])
        if body is None:
            body = f"upstream {status} {path}\n".encode()
        if not any(name == "Content-Type" for name, _ in extra):
            extra.append(("Content-Type", "text/plain"))
        self._respond(status, extra, body)

    def _respond(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not no_body and self.command != "HEAD":
            self.wfile.write(body)

    def _websocket(self):
        key = self.headers.get("Sec-WebSocket-Key")
        if not key or "websocket" not in (self.headers.get("Upgrade") or "").lower():
            return self._respond(400, [("Content-Type", "text/plain")], b"not a websocket upgrade\n")
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", websocket_accept(key))
        self.end_headers()
        self.close_connection = True
        # rfile may already hold bytes sent right after the handshake: read through it
        try:
            while True:
                data = self.rfile.read1(65536)
                if not data:
                    break
                self.wfile.write(data)
        except OSError:
            pass

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle


class _UpstreamServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # open websocket handlers would make server_close() wait forever
    block_on_close = False
    # socketserver's listen backlog is 5: a crowd of connections from nginx (hundreds of
    # slow requests at once) overflows it, and the handshakes dropped there are retried
    # with a growing backoff until nginx's proxy_read_timeout gives 504s.
    request_queue_size = 512

    def process_request(self, request, client_address):
        self.upstream._track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.upstream._track(request, False)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # nginx closing (or a killed worker dropping) a connection mid-answer is part of
        # the tests, not news; anything else is still printed.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class Upstream:
    """Threaded HTTP/1.1 test backend on a free loopback port.

    Paths: /status/NNN, /delay/MS, /cc/<urlencoded Cache-Control>, /ws (upgrade, then
    echo raw bytes until the client closes), /metrics (a tiny valid exposition),
    anything else 200 text. Query options on any path: ct=<Content-Type>,
    size=<body bytes>. Requests seen are in .requests as (method, path, headers, body).
    """

    def __init__(self):
        self.port = None
        self.requests = []
        self._lock = threading.Lock()
        self._conns = set()
        self._server = None
        self._thread = None

    def _record(self, method, path, headers, body):
        with self._lock:
            self.requests.append((method, path, dict(headers.items()), body))

    def _track(self, conn, opened):
        with self._lock:
            (self._conns.add if opened else self._conns.discard)(conn)

    def metrics_text(self):
        with self._lock:
            n = len(self.requests)
        return (
            "# HELP pulse_test_upstream_requests_total Requests the test upstream answered.\n"
            "# TYPE pulse_test_upstream_requests_total counter\n"
            f"pulse_test_upstream_requests_total {n}\n"
        )

    @property
    def address(self):
        return f"{LOOPBACK}:{self.port}"

    def url(self, path="/"):
        return f"http://{self.address}{path}"

    def start(self):
        self._server = _UpstreamServer((LOOPBACK, 0), _UpstreamHandler)
        self._server.upstream = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"upstream-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# nginx

_PLACEHOLDER = re.compile(r"@@([A-Za-z_][A-Za-z0-9_]*)@@")
_LISTEN = re.compile(r"(?:^|[\s{;])listen\s+([^\s;]+)")


class Nginx:
    """One nginx instance in its own folder, with a config written from http_body.

    http_body may use @@name@@ (a free port allocated under that name, see port())
    and @@dir@@ (the instance folder). Literal braces are left alone.
    foreground=True runs `master_process off; daemon off;` as a child process under
    `wrapper` (e.g. ["valgrind", "--tool=callgrind"]).
    """

    def __init__(self, base, http_body, main_extra="", workers=2, load_module=True,
                 foreground=False, wrapper=None, nginx_bin=NGINX_BIN):
        self.dir = _fresh_dir(base, "nginx")
        self.main_extra = main_extra
        self.workers = workers
        self.load_module = load_module
        self.foreground = foreground
        self.wrapper = list(wrapper or [])
        self.nginx_bin = nginx_bin
        self.conf_path = self.dir / "nginx.conf"
        self.error_log_path = self.dir / "error.log"
        self.pid_path = self.dir / "nginx.pid"
        self.master_pid = None
        self.proc = None  # the Popen in foreground mode
        self._ports = {}
        self.check_host = LOOPBACK  # where start() waits for the listen ports to answer
        if load_module:
            require_module()
        for sub in ("tmp", "html"):
            (self.dir / sub).mkdir(exist_ok=True)
            os.chmod(self.dir / sub, 0o755)
        self.write_conf(http_body)

    # -- configuration

    def port(self, name):
        if name not in self._ports:
            self._ports[name] = free_port()
        return self._ports[name]

    def url(self, port_name, path="/"):
        return f"http://{LOOPBACK}:{self.port(port_name)}{path}"

    def render(self, text):
        def sub(m):
            return str(self.dir) if m.group(1) == "dir" else str(self.port(m.group(1)))
        return _PLACEHOLDER.sub(sub, text)

    def write_conf(self, http_body):
        self.http_body = http_body
        d = self.dir
        lines = []
        if self.load_module:
            lines.append(f"load_module {module_path()};")
        lines += [
            f"worker_processes {self.workers};",
            f"pid {d}/nginx.pid;",
            f"lock_file {d}/nginx.lock;",
            f"error_log {d}/error.log info;",
        ]
        if self.foreground:
            lines += ["master_process off;", "daemon off;"]
        lines += [
            self.render(self.main_extra),
            "events { worker_connections 1024; }",
            "http {",
            "    access_log off;",
            f"    client_body_temp_path {d}/tmp/body;",
            f"    proxy_temp_path {d}/tmp/proxy;",
            f"    fastcgi_temp_path {d}/tmp/fastcgi;",
            f"    uwsgi_temp_path {d}/tmp/uwsgi;",
            f"    scgi_temp_path {d}/tmp/scgi;",
            self.render(http_body),
            "}",
            "",
        ]
        _write(self.conf_path, "\n".join(lines))

    def write_file(self, relpath, content):
        """Write a file under the instance dir, readable by the workers."""
        path = self.dir / relpath
        for parent in reversed(path.relative_to(self.dir).parents):
            (self.dir / parent).mkdir(exist_ok=True)
            os.chmod(self.dir / parent, 0o755)
        _write(path, content)
        return path

    def listen_ports(self):
        ports = []
        for addr in _LISTEN.findall(self.conf_path.read_text()):
            if addr.startswith("unix:"):
                continue
            port = addr.rpartition(":")[2] if ":" in addr else addr
            if port.isdigit():
                ports.append(int(port))
        return sorted(set(ports))

    def _cmd(self, *extra):
        return [self.nginx_bin, "-p", f"{self.dir}/", "-c", str(self.conf_path),
                "-e", str(self.error_log_path), *extra]

    def test_config(self):
        r = subprocess.run(self._cmd("-t"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60, env=nginx_env())
        return r.returncode, r.stdout

    # -- lifecycle

    def start(self, timeout=None):
        if self.foreground:
            timeout = timeout or 120
            self._log = open(self.dir / "stdout.log", "wb")
            self.proc = subprocess.Popen(self.wrapper + self._cmd(), stdout=self._log,
                                         stderr=subprocess.STDOUT, env=nginx_env())
            self.master_pid = self.proc.pid
        else:
            timeout = timeout or 30
            _become_subreaper()
            r = subprocess.run(self._cmd(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=60, env=nginx_env())
            if r.returncode != 0:
                raise HarnessError(f"nginx failed to start (rc {r.returncode}):\n"
                                   f"{r.stdout}\n{self._log_tail()}")
        try:
            wait_for(self._started, timeout=timeout, message="nginx to listen")
        except HarnessError as e:
            self.stop()
            raise HarnessError(f"{e}\n{self._log_tail()}") from None
        return self

    def _started(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise HarnessError(f"nginx exited with {self.proc.returncode}\n{self._log_tail()}")
        if not self.foreground:
            if self.master_pid is None:
                try:
                    self.master_pid = int(self.pid_path.read_text().strip())
                except (OSError, ValueError):
                    return False
            if not pid_alive(self.master_pid):
                raise HarnessError(f"nginx master {self.master_pid} died\n{self._log_tail()}")
            if len(self.worker_pids()) < self.workers:
                return False
        return all(port_open(p, self.check_host) for p in self.listen_ports())

    def worker_pids(self):
        """Worker processes of the master (including ones shutting down after a reload)."""
        if self.master_pid is None:
            return []
        if self.foreground:
            return [self.master_pid] if pid_alive(self.master_pid) else []
        return [p for p in child_pids(self.master_pid)
                if cmdline(p).startswith("nginx: worker process")]

    def reload(self, new_http_body=None, timeout=10):
        """Rewrite the config, HUP the master and wait for a full new worker generation.

        Raises if the master rejects the config. Old workers still finishing open
        connections are waited for at most `timeout` seconds.
        """
        if self.foreground:
            raise HarnessError("reload needs a master process")
        self.write_conf(self.http_body if new_http_body is None else new_http_body)
        old = set(self.worker_pids())
        log_offset = self._log_size()
        os.kill(self.master_pid, signal.SIGHUP)

        def new_generation():
            log = self._log_since(log_offset)
            if "[emerg]" in log:
                raise HarnessError(f"nginx rejected the reload:\n{log}")
            new = set(self.worker_pids()) - old
            return len(new) >= self.workers

        try:
            wait_for(new_generation, timeout=30, message="new nginx workers")
        except HarnessError as e:
            raise HarnessError(f"{e}\n{self._log_tail()}") from None
        try:
            wait_for(lambda: not old & set(self.worker_pids()), timeout=timeout)
        except HarnessError:
            pass  # old workers still serve open connections; that is fine
        wait_for(lambda: all(port_open(p) for p in self.listen_ports()),
                 timeout=30, message="nginx to listen after reload")

    def kill_worker(self, sig=signal.SIGKILL, pid=None, wait=True):
        """Signal one worker; with wait, return once the master replaced it."""
        workers = self.worker_pids()
        if not workers:
            raise HarnessError("no worker to kill")
        pid = pid or workers[0]
        if pid not in workers:
            raise HarnessError(f"{pid} is not a worker of this nginx")
        os.kill(pid, sig)
        if wait and not self.foreground:
            def replaced():
                now = self.worker_pids()
                return pid not in now and len(now) >= self.workers
            wait_for(replaced, timeout=30, message=f"nginx to replace worker {pid}")
        return pid

    def stop(self, timeout=10):
        """SIGQUIT (graceful), SIGKILL after timeout. Safe to call twice."""
        pid = self.master_pid
        if pid is None and not self.foreground and self.pid_path.exists():
            try:
                pid = int(self.pid_path.read_text().strip())
            except ValueError:
                pid = None
        if pid is None:
            return
        if self.foreground and self.proc is not None:
            timeout = max(timeout, 60)  # valgrind writes its results on exit
        workers = self.worker_pids()
        if pid_alive(pid):
            os.kill(pid, signal.SIGQUIT)
        try:
            self._wait_gone([pid] + workers, timeout)
        except HarnessError:
            for p in [pid] + workers:
                if pid_alive(p):
                    os.kill(p, signal.SIGKILL)
            self._wait_gone([pid] + workers, 10)
        if self.proc is not None:
            self.proc.wait(timeout=10)
            self._log.close()
            self.proc = None
        else:
            _reap(pid)
        self.master_pid = None

    def _wait_gone(self, pids, timeout):
        def gone():
            if self.proc is not None:
                self.proc.poll()
            return not any(pid_alive(p) for p in pids)
        wait_for(gone, timeout=timeout, message=f"nginx processes {pids} to exit")

    # -- logs

    def error_log(self):
        try:
            return self.error_log_path.read_text(errors="replace")
        except OSError:
            return ""

    def crashed_workers(self):
        """error.log lines about workers that died of a signal other than SIGKILL."""
        return [line for line in self.error_log().splitlines()
                if re.search(r"exited on signal (?!9\b)\d+", line)]

    def _log_size(self):
        try:
            return self.error_log_path.stat().st_size
        except OSError:
            return 0

    def _log_since(self, offset):
        try:
            with open(self.error_log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _log_tail(self, lines=40):
        text = f"--- {self.error_log_path} (tail) ---\n{tail(self.error_log_path, lines)}"
        if self.foreground:
            text += f"\n--- stdout.log (tail) ---\n{tail(self.dir / 'stdout.log', lines)}"
        return text


# ---------------------------------------------------------------------------
# Debian tools unpacked into the build folder


def _sudo():
    return [] if os.geteuid() == 0 else ["sudo"]


def ensure_debian_tool(pkg):
    """apt-get download PKG (once) and dpkg -x it into $BUILD/tools/PKG; return that root."""
    tools = tools_dir()
    debs = tools / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    root = tools / pkg
    with open(tools / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent test runs share the folder
        if (root / "usr").is_dir():
            return root
        found = sorted(debs.glob(f"{pkg}_*.deb"), key=lambda p: p.stat().st_mtime)
        if not found:
            cmd = ["apt-get", "download", pkg]
            r = subprocess.run(cmd, cwd=debs, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                subprocess.run(_sudo() + ["apt-get", "update"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, check=False)
                r = subprocess.run(cmd, cwd=debs, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
            found = sorted(debs.glob(f"{pkg}_*.deb"), key=lambda p: p.stat().st_mtime)
            if r.returncode != 0 or not found:
                raise HarnessError(f"apt-get download {pkg} failed:\n{r.stdout}")
        staging = Path(tempfile.mkdtemp(prefix=f".{pkg}-", dir=tools))
        subprocess.run(["dpkg", "-x", str(found[-1]), str(staging)], check=True)
        staging.rename(root)
        return root


def promtool():
    return ensure_debian_tool("prometheus") / "usr/bin/promtool"


def prometheus_bin():
    return ensure_debian_tool("prometheus") / "usr/bin/prometheus"


def kubectl():
    return ensure_debian_tool("kubernetes-client") / "usr/bin/kubectl"


def promtool_check_metrics(text):
    """(returncode, output) of `promtool check metrics` on text: 0 clean, 1 parse
    error, 3 lint problems."""
    if isinstance(text, str):
        text = text.encode()
    r = subprocess.run([str(promtool()), "check", "metrics"], input=text,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return r.returncode, r.stdout.decode(errors="replace")


# ---------------------------------------------------------------------------
# Prometheus server


class Prometheus:
    """A real Prometheus scraping scrape_targets = [(job, "host:port", metrics_path)]
    every second."""

    def __init__(self, scrape_targets, base=None, scrape_interval="1s", rule_files=()):
        self.dir = _fresh_dir(base, "prometheus")
        self.port = free_port()
        self.proc = None
        self.targets = list(scrape_targets)
        jobs = {}
        for job, address, metrics_path in self.targets:
            cfg = jobs.setdefault((job, metrics_path), {
                "job_name": job,
                "metrics_path": metrics_path,
                "static_configs": [{"targets": []}],
            })
            cfg["static_configs"][0]["targets"].append(address)
        if len({job for job, _ in jobs}) != len(jobs):
            raise HarnessError("one job name per metrics path")
        config = {
            "global": {"scrape_interval": scrape_interval,
                       "scrape_timeout": scrape_interval,
                       "evaluation_interval": scrape_interval},
            "rule_files": [str(Path(p).resolve()) for p in rule_files],
            "scrape_configs": list(jobs.values()),
        }
        self.config_path = self.dir / "prometheus.yml"
        # JSON is valid YAML
        _write(self.config_path, json.dumps(config, indent=2))
        self.log_path = self.dir / "prometheus.log"

    @property
    def base_url(self):
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout=60):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([
            str(prometheus_bin()),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{self.port}",
        ], stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir)

        def ready():
            if self.proc.poll() is not None:
                raise HarnessError(f"prometheus exited with {self.proc.returncode}:\n"
                                   f"{tail(self.log_path)}")
            try:
                return http_get(self.base_url + "/-/ready", timeout=2)[0] == 200
            except OSError:
                return False

        try:
            wait_for(ready, timeout=timeout, interval=0.2, message="prometheus to be ready")
        except HarnessError as e:
            self.stop()
            raise HarnessError(f"{e}\n{tail(self.log_path)}") from None
        return self

    def api(self, path, **params):
        url = f"{self.base_url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        status, _, body = http_get(url)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise HarnessError(f"prometheus {path} {params}: {status} {body[:500]!r}")
        return doc["data"]

    def active_targets(self):
        return self.api("targets", state="active")["activeTargets"]

    def wait_targets_up(self, timeout=30):
        """Wait until every configured target is scraped with health "up";
        return the active targets."""
        last = []

        def all_up():
            nonlocal last
            last = self.active_targets()
            return (len(last) >= len(self.targets)
                    and all(t["health"] == "up" for t in last))

        try:
            wait_for(all_up, timeout=timeout, interval=0.25, message="prometheus targets up")
        except HarnessError as e:
            report = "\n".join(f"  {t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}"
                               for t in last) or "  (no active targets)"
            raise HarnessError(f"{e}\n{report}") from None
        return last

    def query(self, expr, time=None):
        params = {"query": expr}
        if time is not None:
            params["time"] = time
        return self.api("query", **params)["result"]

    def stop(self, timeout=10):
        if self.proc is None:
            return
        stop_process(self.proc, timeout=timeout)
        self._log.close()
        self.proc = None


# -- pulse-sidecar

def sidecar_path():
    """The sidecar under test; PULSE_SIDECAR_BIN points at another build (a sanitized one)."""
    return Path(os.environ.get("PULSE_SIDECAR_BIN") or build_dir() / "pulse-sidecar")


class Sidecar:
    """`pulse-sidecar run` on a free loopback port; args are extra flags."""

    def __init__(self, scrape_url, *args, base=None):
        path = sidecar_path()
        if not path.is_file():
            raise HarnessError(f"sidecar not built: run make (no {path})")
        self.port = free_port()
        self.dir = _fresh_dir(base, "sidecar")
        self.log_path = self.dir / "sidecar.log"
        self.cmd = [str(path), "run", "--scrape", scrape_url,
                    "--listen", f"{LOOPBACK}:{self.port}", *args]
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or port_open(self.port),
                 message=f"sidecar on port {self.port}")
        if self.proc.poll() is not None:
            raise HarnessError(f"sidecar exited {self.proc.returncode}:\n{tail(self.log_path)}")
        return self

    def url(self, path):
        return f"http://{LOOPBACK}:{self.port}{path}"

    def get(self, path, **kw):
        return http_get(self.url(path), **kw)

    def signals(self):
        status, _, body = self.get("/signals")
        assert status == 200, body
        return json.loads(body)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout=10):
        if self.proc is None:
            return
        stop_process(self.proc, timeout=timeout)
        self._log.close()
        self.rc = self.proc.returncode
        self.proc = None
