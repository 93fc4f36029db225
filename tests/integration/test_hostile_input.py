"""Hostile clients cannot choose label values or grow the series count: 10,000 requests,
each with its own Host, URI and query string (quotes, backslashes, encoded newlines and
NULs, long URIs, odd methods), and raw malformed requests. Afterwards the exposition holds
only label values derived from the configuration, parses strictly, passes promtool, and
counts exactly the requests nginx answered."""

import collections
import http.client
import re
import subprocess
import threading

import pytest

import expo
import pulse_harness as ph

MARK = "qqhostile"  # in every client-chosen string; must never reach the exposition

HTTP_BODY = r"""
    pulse_zone pulse 4m;
    keepalive_requests 100000;

    server {
        listen 127.0.0.1:@@main@@ default_server;
        server_name hostile.test alias.hostile.test;

        location = /metrics { pulse_exporter; pulse_metrics off; }
        location / { return 200 "ok\n"; }
        location = /exact { return 204; }
        location ^~ /static/ { return 404; }
        location ~ \.php$ { return 503; }
        location /api/ { pulse_location_name api; return 201; }
        location /err/ { error_page 418 = @fallback; return 418; }
        location @fallback { return 200 "fallback\n"; }
    }

    server {
        listen 127.0.0.1:@@main@@;
        server_name *.other.test;
        location / { return 200 "other\n"; }
    }

    server {
        listen 127.0.0.1:@@plain@@;
        location / { return 200 "plain\n"; }
    }
"""

LOCATIONS = {"/", "= /exact", "^~ /static/", "~ \\.php$", "api", "/err/", "@fallback", "-"}
METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
           "OTHER"}
STATUSES = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
DEFAULT_LE = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
              "+Inf"}
OVERFLOW = "__overflow__"

# method of request i: mostly GET, with standard and non-standard others mixed in
METHOD_CYCLE = ["GET", "GET", "GET", "FOO", "GET", "HEAD", "PROPFIND", "POST", "GET",
                "DELETE", "OPTIONS", "GET", "PUT", "PATCH", "GET", "FOO"]

REQUESTS = 10_000
THREADS = 4


def status_class(code):
    return f"{code // 100}xx" if 100 <= code <= 599 else "other"


def hostile_request(i):
    """(port name, method, path, headers) of the i-th hostile request."""
    tok = f"{MARK}{i}"
    junk = f'"q\'\\b%22%5C%0A%0D%0A%FF%C3%A9<{tok}>'  # %00 in a path is a 400
    query = f'?{tok}="v\\{i}"&a%0Ab={tok}%00&u=%E2%82%AC&x="{tok}\\'
    kind = (i // len(METHOD_CYCLE) + i) % 8  # every method meets every kind
    if kind == 0:
        path = f"/{tok}/{junk}"
    elif kind == 1:
        path = f"/static/{tok}{junk}"
    elif kind == 2:
        path = f"/{tok}{junk}.php"
    elif kind == 3:
        path = f"/api/{tok}/{junk}"
    elif kind == 4:
        path = f"/err/{tok}"
    elif kind == 5:
        path = f"/exact?{tok}"
    elif kind == 6:
        path = f"/{tok}%00/%2e%2e/%2e%2e/etc/passwd"
    else:
        path = f"/{tok}/" + "%0A" * 3
    if i % 500 == 7:
        path = f"/{tok}/" + "L" * 6000  # a long URI that still fits nginx's buffers
    path += query

    port = "plain" if i % 11 == 0 else "main"
    if i % 7 == 0:
        host = f"{tok}.other.test"              # picks the wildcard server
    elif i % 97 == 0:
        host = f"{tok}/slash.example"          # invalid host: 400
    elif i % 89 == 0:
        host = f"{tok}..double.dot"            # invalid host: 400
    else:
        host = f'{tok}."quote\\back.example:{i % 65536}'
    headers = {
        "Host": host,
        "User-Agent": f'{tok} "agent" \\ \\"',
        "Referer": f'http://{tok}.example/"\\',
        "Cookie": f'{tok}="\\"; other={tok}',
        "X-Hostile": f'{tok} "quoted" \\ back\\slash \u00e9'.encode().decode("latin-1"),
    }
    return port, METHOD_CYCLE[i % len(METHOD_CYCLE)], path, headers


RAW_REQUESTS = [  # (bytes, (location, method, status) nginx answers and counts)
    # garbage method
    (b"G@T /" + MARK.encode() + b" HTTP/1.1\r\nHost: " + MARK.encode() + b"-a\r\n\r\n",
     ('-', 'OTHER', '4xx')),
    # unsupported version
    (b"GET /x HTTP/9.9\r\nHost: " + MARK.encode() + b"-b\r\n\r\n",
     ('-', 'GET', '5xx')),
    # NUL byte in the URI, and in a header
    (b"GET /" + MARK.encode() + b"\x00nul HTTP/1.1\r\nHost: a\r\n\r\n",
     ('-', 'GET', '4xx')),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-" + MARK.encode() + b": a\x00b\r\nConnection: close\r\n\r\n",
     ('-', 'GET', '4xx')),
    # raw UTF-8 in URI and Host
    (b"GET /" + MARK.encode() + b"-utf8-\xc3\xa9\xe2\x82\xac\xf0\x9f\x92\xa9 HTTP/1.1\r\n"
     b"Host: " + MARK.encode() + b"-\xc3\xa9.test\r\nConnection: close\r\n\r\n",
     ('/', 'GET', '2xx')),
    # invalid UTF-8 in URI, query and Host
    (b"GET /" + MARK.encode() + b"-bad-\xff\xfe\xc0\xaf?q=\xed\xa0\x80 HTTP/1.1\r\n"
     b"Host: " + MARK.encode() + b"-\xff\xfe.test\r\nConnection: close\r\n\r\n",
     ('/', 'GET', '2xx')),
    # quotes, backslashes and escapes raw in the request line and headers
    (b'GET /' + MARK.encode() + b'"\\n\\"\\\\?"="\\ HTTP/1.1\r\nHost: ' + MARK.encode()
     + b'"\\.test\r\nX-A: "\\"\r\nConnection: close\r\n\r\n',
     ('/', 'GET', '2xx')),
    # a 20 KB header: 400 (494 inside nginx)
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + MARK.encode() * 2300 + b"\r\n\r\n",
     ('-', 'GET', '4xx')),
    # a 10 KB URI: 414
    (b"GET /" + MARK.encode() * 1200 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
     ('-', 'GET', '4xx')),
    # two Host headers: 400
    (b"GET / HTTP/1.1\r\nHost: " + MARK.encode() + b"-1\r\nHost: " + MARK.encode()
     + b"-2\r\n\r\n",
     ('-', 'GET', '4xx')),
    # absolute URI naming a hostile host
    (b"GET http://" + MARK.encode() + b"-abs.example/x HTTP/1.1\r\nHost: a\r\n"
     b"Connection: close\r\n\r\n",
     ('/', 'GET', '2xx')),
    # absolute URI with a host nginx refuses
    (b"GET http://" + MARK.encode() + b"..bad/x HTTP/1.1\r\nHost: a\r\n\r\n",
     ('-', 'GET', '4xx')),
    # a TLS ClientHello on a plain HTTP port
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32 + b"\r\n\r\n",
     ('-', 'OTHER', '4xx')),
    # unknown methods: OTHER
    (b"FOO /" + MARK.encode() + b"-foo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
     ('/', 'OTHER', '2xx')),
    (b"PROPFIND /" + MARK.encode() + b"-dav HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
     ('/', 'OTHER', '2xx')),
    # a header line without a colon, and a bad header name
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + MARK.encode() + b" no colon\r\n\r\n",
     ('-', 'GET', '4xx')),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX Bad\x01Name: " + MARK.encode()
     + b"\r\nConnection: close\r\n\r\n",
     ('-', 'GET', '4xx')),
    # HTTP/1.0 without Host
    (b"GET /" + MARK.encode() + b"-10 HTTP/1.0\r\n\r\n",
     ('/', 'GET', '2xx')),
    # bare LF line ends, a body on a location that does not read it
    (b"POST /api/" + MARK.encode() + b" HTTP/1.1\nHost: a\nContent-Length: 5\n"
     b"Connection: close\n\nhello",
     ('api', 'POST', '2xx')),
    # chunked body with a malformed chunk size
    (b"POST /" + MARK.encode() + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nhello\r\n0\r\n\r\n",
     ('/', 'POST', '4xx')),
]


def nginx_version():
    r = subprocess.run([ph.NGINX_BIN, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return re.search(r"nginx/(\S+)", r.stdout).group(1)


def send_hostile(ng, indices, results, errors):
    conns = {}
    try:
        for i in indices:
            port, method, path, headers = hostile_request(i)
            conn = conns.get(port)
            if conn is None:
                conn = conns[port] = http.client.HTTPConnection(
                    ph.LOOPBACK, ng.port(port), timeout=30)
            try:
                conn.request(method, path, headers=headers,
                             body=b"" if method in ("POST", "PUT", "PATCH") else None)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException) as e:
                errors.append((i, method, path[:80], repr(e)))
                conn.close()
                continue
            results.append((method, resp.status))
    finally:
        for conn in conns.values():
            conn.close()


def scrape(ng):
    status, headers, body = ph.http_get(ng.url("main", "/metrics"))
    assert status == 200, body[:500]
    return body


def wait_total(ng, expected):
    """Scrape until the request counter and the duration histogram reach expected (the
    last requests' log phase may run a moment after their response left, and a scrape
    may catch a log handler half-way); return (body, Exposition)."""
    last = {}

    def reached():
        body = scrape(ng)
        e = expo.Exposition(body)
        last["total"] = e.total("nginx_http_requests_total")
        last["durations"] = e.total("nginx_http_request_duration_seconds_count")
        return (body, e) if min(last.values()) >= expected else None

    try:
        return ph.wait_for(reached, timeout=30, interval=0.2,
                           message=f"nginx_http_requests_total to reach {expected}")
    except ph.HarnessError as err:
        pytest.fail(f"{err}; last scrape {last}")


def check_labels(ng, e, text):
    assert MARK not in text.lower(), [
        line for line in text.splitlines() if MARK in line.lower()][:5]
    assert "\ufffd" not in text and "\u00e9" not in text and "\u20ac" not in text

    allowed = {
        "server": {"hostile.test", "*.other.test", f"127.0.0.1:{ng.port('plain')}", OVERFLOW},
        "location": LOCATIONS | {OVERFLOW},
        "method": METHODS | {OVERFLOW},
        "status": STATUSES | {OVERFLOW},
        "upstream": {OVERFLOW},
        "policy": {OVERFLOW},
        "le": DEFAULT_LE,
        "state": {"active", "reading", "writing", "waiting", "used", "free"},
        "nginx_version": {nginx_version()},
    }
    unexpected = collections.defaultdict(set)
    for (name, labels) in e.samples:
        for label, value in labels:
            if label == "version":
                if not re.fullmatch(r"\d+\.\d+\.\d+", value):
                    unexpected[label].add(value)
            elif value not in allowed.get(label, ()):
                unexpected[label].add(value)
    assert not unexpected, dict(unexpected)


def request_series_count(e):
    """Series of the request families (self metrics left out), overflow left out."""
    keys = set()
    for (name, labels) in e.samples:
        if not name.startswith("nginx_http_"):
            continue
        d = dict(labels)
        d.pop("le", None)
        if OVERFLOW in d.values():
            continue
        family = re.sub(r"_(bucket|sum|count)$", "", name) \
            if e.types.get(re.sub(r"_(bucket|sum|count)$", "", name)) == "histogram" else name
        keys.add((family, frozenset(d.items())))
    return len(keys)


def test_hostile_requests_do_not_reach_labels(nginx_factory):
    ng = nginx_factory(HTTP_BODY)
    workers_before = sorted(ng.worker_pids())

    # -- 10,000 hostile requests over keep-alive connections
    results, errors = [], []
    threads = [threading.Thread(target=send_hostile,
                                args=(ng, range(t, REQUESTS, THREADS), results, errors))
               for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "client threads hung"
    assert errors == [], errors[:10]
    assert len(results) == REQUESTS

    sent_methods = collections.Counter(m for m, _ in results)
    sent_classes = collections.Counter(status_class(s) for _, s in results)
    # the config's answers really happened (the mix exercises several locations)
    assert {"2xx", "4xx", "5xx"} <= set(sent_classes), sent_classes

    body, e = wait_total(ng, REQUESTS)
    text = body.decode("utf-8")
    assert e.total("nginx_http_requests_total") == REQUESTS
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        assert e.total("nginx_http_requests_total", method=method) == sent_methods[method], method
    assert e.total("nginx_http_requests_total", method="OTHER") == \
        sent_methods["FOO"] + sent_methods["PROPFIND"]
    for cls in STATUSES:
        assert e.total("nginx_http_requests_total", status=cls) == sent_classes[cls], cls
    # every request has a duration observation
    assert e.total("nginx_http_request_duration_seconds_count") == REQUESTS
    # the wildcard server and the listen-address server are labelled from the config
    assert e.total("nginx_http_requests_total", server="*.other.test") > 0
    assert e.total("nginx_http_requests_total",
                   server=f"127.0.0.1:{ng.port('plain')}") > 0
    check_labels(ng, e, text)

    # -- raw malformed requests, each on its own connection
    def by_labels(e):
        return collections.Counter({
            (l["location"], l["method"], l["status"]): v
            for l, v in e.series("nginx_http_requests_total") if l["server"] == "hostile.test"})

    before = by_labels(e)
    for data, _ in RAW_REQUESTS:
        answer = ph.raw_request(ph.LOOPBACK, ng.port("main"), data, timeout=10, idle=2)
        m = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
        assert m, f"no HTTP answer to {data[:60]!r}: {answer[:200]!r}"
        # one answer per request (none was pipelined)
        assert answer.count(b"HTTP/1.") == 1, answer[:300]

    expected = REQUESTS + len(RAW_REQUESTS)
    body, e = wait_total(ng, expected)
    text = body.decode("utf-8")
    assert e.total("nginx_http_requests_total") == expected
    assert e.total("nginx_http_request_duration_seconds_count") == expected
    # each malformed request is counted once, under labels from the config only
    added = by_labels(e)
    added.subtract(before)
    assert +added == collections.Counter(labels for _, labels in RAW_REQUESTS), +added
    check_labels(ng, e, text)

    # cardinality stays bounded by the configuration
    series = e.value("nginx_pulse_series")
    assert series == request_series_count(e), (series, request_series_count(e))
    assert series < 150, series
    assert e.value("nginx_pulse_series_dropped_total") == 0

    rc, out = ph.promtool_check_metrics(body)
    assert (rc, out) == (0, ""), out

    # no worker died along the way
    assert ng.crashed_workers() == []
    assert sorted(ng.worker_pids()) == workers_before
    problems = [line for line in ng.error_log().splitlines()
                if re.search(r"\[(crit|alert|emerg)\]|pulse: ", line)]
    assert problems == [], problems[:10]


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "MKCOL", "LOCK", "BREW"])
def test_unknown_methods_count_as_other(nginx_factory, method):
    ng = nginx_factory(HTTP_BODY)
    for _ in range(3):
        status, _, _ = ph.http_get(ng.url("main", f"/api/{MARK}"), method=method)
        assert status == 201
    body, e = wait_total(ng, 3)
    assert e.total("nginx_http_requests_total") == 3
    assert e.value("nginx_http_requests_total", server="hostile.test", location="api",
                   method="OTHER", status="2xx") == 3
    assert method not in body.decode()
