"""conf/nginx/web.conf and conf/nginx/ingress.conf, run as written with the real nginx and
the built module against test upstreams.

Each file is a complete nginx.conf. The test rewrites only the values that belong to a
cluster (the module's path, pid, temp and log paths, listen ports, upstream addresses,
the static root, certificate paths) and fails when one of them is not found exactly as
expected, so the config and this test cannot drift apart silently."""

import http.client
import re
import ssl
import subprocess
from pathlib import Path

import pytest

import pulse_harness as ph

CONF_DIR = ph.REPO_ROOT / "conf" / "nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")
IMMUTABLE = "public, max-age=31536000, immutable"
SHA1 = "3f2a9c1b5e7d4a6f8b0c2e4d6f8a0b1c3e5d7f9a"


def rewrite(text, rules):
    """Apply (pattern, replacement, expected count) rules; fail on any count mismatch."""
    for pattern, replacement, expected in rules:
        text, n = re.subn(pattern, lambda m: replacement, text, flags=re.M)
        assert n == expected, (
            f"conf/nginx changed: {pattern!r} matched {n} time(s), expected {expected}; "
            "update the rewrite rules in tests/integration/test_conf_nginx.py")
    return text


def load(nginx_factory, name, file_rules):
    """A ph.Nginx (not started) whose nginx.conf is conf/nginx/<name> with the cluster
    values rewritten; file_rules(ng) gives the rules particular to that file."""
    ng = nginx_factory("", start=False)  # the harness's folder, pid and log paths
    d = ng.dir
    text = (CONF_DIR / name).read_text()
    rules = [
        (r"^load_module modules/ngx_http_pulse_module\.so;$",
         f"load_module {ph.module_path()};", 1),
        (r"^pid /tmp/nginx\.pid;$", f"pid {d}/nginx.pid;", 1),
        (r"/tmp/nginx-(?=[a-z_]+;)", f"{d}/tmp/", 5),
        (r"^error_log stderr warn;$", f"error_log {d}/error.log info;", 1),
        (r"access_log /dev/stdout (?=\w+;)", f"access_log {d}/access.log ", 1),
    ] + file_rules(ng)
    ph._write(ng.conf_path, rewrite(text, rules))
    # `include mime.types` is relative to the folder of nginx.conf, as in /etc/nginx
    ph._write(d / "mime.types", MIME_TYPES.read_text())
    return ng


# nginx 1.25.1 deprecated `listen ... http2` for an `http2 on;` directive that 1.22 (Debian
# 12, the images' nginx) does not know: ingress.conf keeps the form both accept, and on
# nginx 1.25.1 and later this one warning is nginx's, not the file's.
LISTEN_HTTP2_DEPRECATED = '[warn] the "listen ... http2" directive is deprecated'


def nginx_t(ng):
    rc, out = ng.test_config()
    assert rc == 0 and "test is successful" in out, out
    if ph.nginx_version() >= (1, 25, 1):
        out = "\n".join(line for line in out.splitlines() if LISTEN_HTTP2_DEPRECATED not in line)
    assert "[warn]" not in out and "[emerg]" not in out, out


def request(port, path, host=None, source=None, headers=None, tls=False):
    """(status, HeaderDict, body) from 127.0.0.1:port. source: another loopback address
    to send from (127.0.0.2 is not 127.0.0.1 to nginx's allow/deny)."""
    kw = {"timeout": 10, "source_address": (source, 0) if source else None}
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(ph.LOOPBACK, port, context=ctx, **kw)
    else:
        conn = http.client.HTTPConnection(ph.LOOPBACK, port, **kw)
    try:
        hdrs = dict(headers or {})
        if host:
            hdrs["Host"] = host
        conn.request("GET", path, headers=hdrs)
        resp = conn.getresponse()
        body = resp.read()
        out = ph.HeaderDict()
        for k, v in resp.getheaders():
            out.setdefault(k.lower(), []).append(v)
        return resp.status, out, body
    finally:
        conn.close()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def value(text, name, **labels):
    """Sum of the samples of `name` whose labels include the given ones (None: none)."""
    want = set(labels.items())
    total = None
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        if want <= set(_LABEL.findall(m.group(2) or "")):
            total = (total or 0) + float(m.group(3))
    return total


def seen(up, path):
    """Requests the upstream got for path (query ignored)."""
    return [r for r in up.requests if r[1].split("?")[0] == path]


def header(req, name):
    """A request header as recorded by the test upstream (case-insensitive)."""
    return {k.lower(): v for k, v in req[2].items()}.get(name.lower())


# ---------------------------------------------------------------------------
# web.conf


def web_rules(upstream):
    def rules(ng):
        return [
            (r"listen 8080 default_server;",
             f"listen {ph.LOOPBACK}:{ng.port('app')} default_server;", 1),
            (r"listen 9113;", f"listen {ph.LOOPBACK}:{ng.port('metrics')};", 1),
            (r"server 127\.0\.0\.1:3000;", f"server {upstream.address};", 1),
            (r"root /srv/web/static;", f"root {ng.dir}/html;", 1),
        ]
    return rules


def test_web_conf_passes_nginx_t(nginx_factory, upstream):
    nginx_t(load(nginx_factory, "web.conf", web_rules(upstream)))


@pytest.fixture
def web(nginx_factory, upstream):
    ng = load(nginx_factory, "web.conf", web_rules(upstream))
    ng.write_file(f"html/{SHA1}.js", "console.log('bundle')\n")
    ng.write_file("html/.env", "SECRET=1\n")
    ng.start()
    yield ng
    assert ng.crashed_workers() == []


def test_web_hashed_bundle_from_disk_is_immutable(web, upstream):
    status, h, body = request(web.port("app"), f"/{SHA1}.js")
    assert status == 200 and body == b"console.log('bundle')\n"
    assert h.get("cache-control") == [IMMUTABLE]
    assert len(h.get("expires", [])) == 1
    assert seen(upstream, f"/{SHA1}.js") == []  # nginx served it, not the app


def test_web_hashed_bundle_from_app_is_immutable(web, upstream):
    # Meteor's own URL form, not on disk: the app answers and the policy still applies
    status, h, _ = request(web.port("app"), f"/{SHA1[::-1]}.css?meteor_css_resource=true&ct=text/css")
    assert status == 200
    assert h.get("cache-control") == [IMMUTABLE]
    assert len(seen(upstream, f"/{SHA1[::-1]}.css")) == 1


def test_web_html_shell_is_revalidated(web, upstream):
    # client-side routes: the app answers the HTML shell for any path
    for path in ("/", "/chat/room-42"):
        status, h, _ = request(web.port("app"), path + "?ct=text/html;%20charset=utf-8")
        assert status == 200
        assert h.get("cache-control") == ["no-cache"], path
        assert h.get("expires") == ["Thu, 01 Jan 1970 00:00:01 GMT"], path
        assert len(seen(upstream, path)) == 1


def test_web_upstream_keepalive_and_forwarded_headers(web, upstream):
    request(web.port("app"), "/page?ct=text/html", headers={"X-Forwarded-Proto": "https"})
    request(web.port("app"), "/other")
    page, other = seen(upstream, "/page")[0], seen(upstream, "/other")[0]
    # no "Connection: close": the upstream connection goes back to the keep-alive pool
    assert header(page, "connection") is None and header(other, "connection") is None
    assert header(page, "upgrade") is None
    assert header(page, "x-forwarded-proto") == "https"  # the ingress's scheme is kept
    assert header(other, "x-forwarded-proto") == "http"
    assert header(other, "x-forwarded-for") == "127.0.0.1"
    assert header(other, "host") == "127.0.0.1"  # $host: the name, without the port


def test_web_websocket_upgrade_through_nginx(web, upstream):
    metrics = f"http://{ph.LOOPBACK}:{web.port('metrics')}/metrics"
    with ph.WebSocketClient(ph.LOOPBACK, web.port("app"), "/ws") as ws:
        assert ws.echo(b"ddp ping") == b"ddp ping"
        _, _, body = ph.http_get(metrics)
        assert value(body.decode(), "nginx_http_websocket_connections", server="web") == 1
    req = seen(upstream, "/ws")[0]
    assert header(req, "upgrade") == "websocket"
    assert header(req, "connection").lower() == "upgrade"


def test_web_meteor_websocket_location_forwards_the_upgrade(web, upstream):
    # the test upstream upgrades only /ws: here it answers 200, which is enough to see
    # that /websocket reaches the app with the upgrade headers, under its own label
    ws = ph.WebSocketClient(ph.LOOPBACK, web.port("app"), "/websocket", expect_101=False)
    ws.close()
    req = seen(upstream, "/websocket")[0]
    assert header(req, "upgrade") == "websocket"
    assert header(req, "connection").lower() == "upgrade"
    # nginx counts the request when it ends, which the client does not wait for here.
    ph.wait_for(lambda: value(ph.http_get(f"http://{ph.LOOPBACK}:{web.port('metrics')}/metrics")[2]
                              .decode(), "nginx_http_requests_total", server="web",
                              location="websocket", status="2xx") == 1,
                message="the websocket request counted")


def test_web_metrics_port(web, upstream):
    app, metrics = web.port("app"), web.port("metrics")
    request(app, f"/{SHA1}.js")
    request(app, "/route?ct=text/html")

    # A request is counted in its log phase, after its answer went out, and the scrape may
    # be served by the other worker meanwhile: read until its upstream try is counted too.
    def scraped():
        status, _, body = request(metrics, "/metrics")
        assert status == 200
        text = body.decode()
        return text if value(text, "nginx_http_upstream_requests_total", upstream="app") else None

    text = ph.wait_for(scraped, timeout=10, message="the upstream try counted")
    rc, out = ph.promtool_check_metrics(text)
    assert rc == 0, out
    # files from disk under "/", the app's answers under "@app", the policy's classes
    assert value(text, "nginx_http_requests_total", server="web", location="/", status="2xx") == 1
    assert value(text, "nginx_http_requests_total", server="web", location="@app") == 1
    assert value(text, "nginx_http_cache_policy_responses_total",
                 server="web", location="/", policy="fingerprinted") == 1
    assert value(text, "nginx_http_cache_policy_responses_total",
                 server="web", location="@app", policy="document") == 1
    assert value(text, "nginx_http_upstream_requests_total", upstream="app") == 1
    assert value(text, "nginx_connections_limit") == 4096 * 2
    # scrapes and probes are not traffic
    request(metrics, "/healthz")
    assert value(text, "nginx_http_requests_total", server="pulse-exporter") is None

    # from an address outside the allowed ones: refused
    status, _, _ = request(metrics, "/metrics", source="127.0.0.2")
    assert status == 403
    status, _, body = request(metrics, "/healthz")
    assert (status, body) == (200, b"ok\n")


def test_web_app_port_does_not_expose_metrics_or_dotfiles(web, upstream):
    app = web.port("app")
    status, _, body = request(app, "/metrics")
    assert status == 404 and b"nginx_" not in body
    assert seen(upstream, "/metrics") == []
    status, _, body = request(app, "/.env")
    assert status == 404 and b"SECRET" not in body
    assert seen(upstream, "/.env") == []


# ---------------------------------------------------------------------------
# ingress.conf


def make_cert(d):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=shop.example.com",
         "-addext", "subjectAltName=DNS:shop.example.com,DNS:assets.example.com",
         "-keyout", str(d / "tls.key"), "-out", str(d / "tls.crt")],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for f in ("tls.key", "tls.crt"):
        (d / f).chmod(0o644)


@pytest.fixture
def upstreams():
    ups = {name: ph.Upstream().start() for name in ("web", "api", "assets")}
    yield ups
    for up in ups.values():
        up.stop()


def ingress_rules(ups):
    def rules(ng):
        tls = ng.dir / "tls"
        tls.mkdir(mode=0o755)
        make_cert(tls)
        return [
            (r"listen 8080 default_server;",
             f"listen {ph.LOOPBACK}:{ng.port('http')} default_server;", 1),
            (r"listen 8443 ssl http2 default_server;",
             f"listen {ph.LOOPBACK}:{ng.port('https')} ssl http2 default_server;", 1),
            (r"listen 8443 ssl;", f"listen {ph.LOOPBACK}:{ng.port('https')} ssl;", 2),
            (r"listen 9113;", f"listen {ph.LOOPBACK}:{ng.port('metrics')};", 1),
            (r"server web\.shop\.svc\.cluster\.local:80;", f"server {ups['web'].address};", 1),
            (r"server api\.shop\.svc\.cluster\.local:8080;", f"server {ups['api'].address};", 1),
            (r"server assets\.shop\.svc\.cluster\.local:80;",
             f"server {ups['assets'].address};", 1),
            (r"(?<=ssl_certificate )/etc/nginx/tls/", f"{tls}/", 1),
            (r"(?<=ssl_certificate_key )/etc/nginx/tls/", f"{tls}/", 1),
        ]
    return rules


def test_ingress_conf_passes_nginx_t(nginx_factory, upstreams):
    nginx_t(load(nginx_factory, "ingress.conf", ingress_rules(upstreams)))


def test_ingress_routes_counts_and_caches(nginx_factory, upstreams):
    ng = load(nginx_factory, "ingress.conf", ingress_rules(upstreams))
    ng.start()
    https = ng.port("https")

    status, h, _ = request(https, "/app/page?ct=text/html&cc=no-cache", host="shop.example.com",
                           tls=True)
    assert status == 200 and len(seen(upstreams["web"], "/app/page")) == 1
    assert h.get("cache-control") == ["no-cache"]  # the web pod's header, as it was

    status, _, _ = request(https, "/api/orders?status=404", host="shop.example.com", tls=True)
    assert status == 404 and len(seen(upstreams["api"], "/api/orders")) == 1

    status, h, _ = request(https, "/img/logo.png?ct=image/png", host="assets.example.com", tls=True)
    assert status == 200 and len(seen(upstreams["assets"], "/img/logo.png")) == 1
    assert h.get("cache-control") == ["public, max-age=86400, stale-while-revalidate=86400"]
    status, h, _ = request(https, "/js/app.3f2a9c1b.js?ct=application/javascript",
                           host="assets.example.com", tls=True)
    assert h.get("cache-control") == [IMMUTABLE]

    # a name nobody configured: closed without an answer, counted under server="_"
    with pytest.raises((ConnectionError, ssl.SSLError)):  # RemoteDisconnected included
        request(https, "/", host="made-up.example.net", tls=True)
    status, h, _ = request(ng.port("http"), "/x?y=1", host="shop.example.com")
    assert status == 308 and h.first("location") == "https://shop.example.com/x?y=1"

    # The 444 and the 308 are counted in their log phase, after the client saw the answer,
    # and the other worker may serve the scrape meanwhile: read until both are in.
    def scraped():
        status, _, body = request(ng.port("metrics"), "/metrics")
        assert status == 200
        text = body.decode()
        return text if (value(text, "nginx_http_requests_total", server="_") or 0) >= 2 else None

    text = ph.wait_for(scraped, timeout=10, message="the 444 and the 308 counted")
    for name in ("web", "api", "assets"):
        assert value(text, "nginx_http_upstream_requests_total", upstream=name) >= 1, name
    assert value(text, "nginx_http_requests_total", server="shop.example.com",
                 location="/api/", status="404") == 1
    assert value(text, "nginx_http_cache_policy_responses_total",
                 server="assets.example.com", policy="fingerprinted") == 1
    assert value(text, "nginx_http_requests_total", server="_") == 2  # 444 and 308
    assert "made-up.example.net" not in text
    assert ng.crashed_workers() == []


# ---------------------------------------------------------------------------
# the shell commands of docs/operations.md, run as written


OPERATIONS = ph.REPO_ROOT / "docs" / "operations.md"


def doc_commands(path):
    """The lines of the ```sh blocks (fences may be indented in lists)."""
    out, block = [], False
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):
            block = line.strip() == "```sh"
            continue
        if block and line.strip():
            out.append(line.strip())
    return out


def test_every_command_of_the_operations_doc_runs(nginx_factory, upstream, sidecar_factory):
    """Each command of docs/operations.md, in the pod's layout: nginx with web.conf (the
    exporter on :9113) and pulse-sidecar (:9145). Only what the pod would differ in is
    substituted: nginx's prefix and config path, the two loopback ports, promtool's path.
    A command no entry below knows fails the test."""
    ng = load(nginx_factory, "web.conf", web_rules(upstream))
    ng.start()
    sidecar = sidecar_factory(ng.url("metrics", "/metrics"))
    nginx = f"{ph.NGINX_BIN} -p {ng.dir}/ -c {ng.conf_path} -e {ng.error_log_path}"

    def run(cmd):
        cmd = re.sub(r"^nginx ", nginx + " ", cmd)
        cmd = re.sub(r"^promtool ", f"{ph.promtool()} ", cmd)
        cmd = cmd.replace("127.0.0.1:9113", f"127.0.0.1:{ng.port('metrics')}")
        cmd = cmd.replace("127.0.0.1:9145", f"127.0.0.1:{sidecar.port}")
        r = subprocess.run(["bash", "-c", cmd], cwd=ph.REPO_ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        return r.returncode, r.stdout

    for path in ("/", f"/{SHA1}.js", "/status/503"):
        request(ng.port("app"), path)
    ph.wait_for(lambda: sidecar.get("/readyz")[0] == 200, message="sidecar ready")

    def counts_series(rc, out):
        return rc == 0 and int(out) >= 1

    expected = {
        "curl -s http://127.0.0.1:9113/metrics | grep -E '^nginx_pulse_(series|shm_bytes)'":
            lambda rc, out: rc == 0 and re.search(r"^nginx_pulse_series_limit 4096$", out, re.M)
            and 'nginx_pulse_shm_bytes{state="free"}' in out,
        "nginx -t": lambda rc, out: rc == 0 and "test is successful" in out,
        "curl -s http://127.0.0.1:9113/metrics | grep -c '^nginx_http_requests_total'":
            counts_series,
        "curl -s http://127.0.0.1:9113/healthz": lambda rc, out: rc == 0 and out == "ok\n",
        "curl -s http://127.0.0.1:9145/healthz": lambda rc, out: rc == 0 and out.startswith("ok"),
        # no overflow series here: grep finds nothing and exits 1
        "curl -s http://127.0.0.1:9113/metrics | grep '\"__overflow__\"'":
            lambda rc, out: (rc, out) == (1, ""),
        "curl -s http://127.0.0.1:9145/readyz": lambda rc, out: rc == 0 and out.startswith("ready"),
        "promtool check config conf/prometheus/prometheus-static.yml":
            lambda rc, out: rc == 0 and "SUCCESS" in out,
        "promtool check rules conf/prometheus/rules/pulse-recording.yml "
        "conf/prometheus/rules/pulse-alerts.yml": lambda rc, out: rc == 0 and "SUCCESS" in out,
        "promtool test rules conf/prometheus/tests/alerts_test.yml "
        "conf/prometheus/tests/recording_test.yml":
            lambda rc, out: rc == 0 and out.count("SUCCESS") == 2,
    }
    commands = doc_commands(OPERATIONS)
    assert "nginx -s reload" in commands
    unknown = [c for c in commands if c not in expected and c != "nginx -s reload"]
    assert unknown == [], "commands in docs/operations.md that no test runs"

    series_cmd = "curl -s http://127.0.0.1:9113/metrics | grep -c '^nginx_http_requests_total'"
    for cmd in commands:
        if cmd == "nginx -s reload":
            # counters survive it: the same series, at least, afterwards
            before = int(run(series_cmd)[1])
            old = set(ng.worker_pids())
            rc, out = run(cmd)
            assert rc == 0, out
            ph.wait_for(lambda: set(ng.worker_pids()) - old, message="new workers")
            assert int(run(series_cmd)[1]) >= before
            continue
        rc, out = run(cmd)
        assert expected[cmd](rc, out), f"{cmd}\nrc={rc}\n{out}"
    assert [c for c in expected if c not in commands] == [], "stale entries in this test"
    assert ng.crashed_workers() == []
