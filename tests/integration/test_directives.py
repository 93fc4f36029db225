"""The module's directives: bad configurations make `nginx -t` fail with a message that
names the directive (or the problem) and the file and line of the bad directive; good
ones (every directive at every level it is allowed at) pass and behave; a module that is
loaded without any pulse_zone stays out of the way."""

import re

import pytest

import expo
import pulse_harness as ph

BAD = "# BAD"  # marks the line whose number the error message must name


def server(body, port="main"):
    return (f"server {{\n"
            f"    listen 127.0.0.1:@@{port}@@;\n"
            f"    server_name directives.test;\n"
            f"{body}\n"
            f"}}\n")


ZONE = "pulse_zone pulse 1m;\n"
BUCKETS_65 = " ".join(str(i) for i in range(1, 66))
BUCKETS_64 = " ".join(str(i) for i in range(1, 65))

# id -> (http body, text the error must contain)
BAD_CONFIGS = {
    "zone-size-not-a-size": (
        f"pulse_zone pulse abc; {BAD}\n" + server("location / { return 200; }"),
        'invalid pulse_zone size "abc"'),
    "zone-too-small": (
        f"pulse_zone pulse 64k; {BAD}\n" + server("location / { return 200; }"),
        "is too small"),
    "zone-missing-size": (
        f"pulse_zone pulse; {BAD}\n" + server("location / { return 200; }"),
        'invalid number of arguments in "pulse_zone" directive'),
    "zone-missing-everything": (
        f"pulse_zone; {BAD}\n" + server("location / { return 200; }"),
        'invalid number of arguments in "pulse_zone" directive'),
    "zone-empty-name": (
        f'pulse_zone "" 1m; {BAD}\n' + server("location / { return 200; }"),
        "pulse_zone needs a name"),
    "zone-duplicate": (
        f"pulse_zone one 1m;\npulse_zone two 1m; {BAD}\n" + server("location / { return 200; }"),
        '"pulse_zone" directive is duplicate'),
    "zone-name-taken-by-another-module": (
        f"limit_req_zone $binary_remote_addr zone=shared:1m rate=1r/s;\n"
        f"pulse_zone shared 1m; {BAD}\n" + server("location / { return 200; }"),
        '"shared"'),
    "zone-in-server": (
        server(f"pulse_zone pulse 1m; {BAD}\nlocation / {{ return 200; }}"),
        '"pulse_zone" directive is not allowed here'),
    "zone-in-location": (
        ZONE + server(f"location / {{ pulse_zone other 1m; {BAD}\n return 200; }}"),
        '"pulse_zone" directive is not allowed here'),
    "buckets-not-increasing": (
        ZONE + f"pulse_buckets 0.1 0.05; {BAD}\n" + server("location / { return 200; }"),
        "pulse_buckets: bucket bounds must increase strictly"),
    "buckets-equal": (
        ZONE + f"pulse_buckets 0.1 0.1; {BAD}\n" + server("location / { return 200; }"),
        "pulse_buckets: bucket bounds must increase strictly"),
    "buckets-negative": (
        ZONE + f"pulse_buckets -1; {BAD}\n" + server("location / { return 200; }"),
        "pulse_buckets:"),
    "buckets-zero": (
        ZONE + f"pulse_buckets 0 1; {BAD}\n" + server("location / { return 200; }"),
        "pulse_buckets:"),
    "buckets-not-a-number": (
        ZONE + f"pulse_buckets abc; {BAD}\n" + server("location / { return 200; }"),
        'pulse_buckets: invalid bucket bound "abc"'),
    "buckets-trailing-garbage": (
        ZONE + f"pulse_buckets 0.1 0.5s; {BAD}\n" + server("location / { return 200; }"),
        'pulse_buckets: invalid bucket bound "0.5s"'),
    "buckets-infinite": (
        ZONE + f"pulse_buckets 0.1 inf; {BAD}\n" + server("location / { return 200; }"),
        "pulse_buckets:"),
    "buckets-65-bounds": (
        ZONE + f"pulse_buckets {BUCKETS_65}; {BAD}\n" + server("location / { return 200; }"),
        "pulse_buckets: at most 64"),
    "buckets-no-bounds": (
        ZONE + f"pulse_buckets; {BAD}\n" + server("location / { return 200; }"),
        'invalid number of arguments in "pulse_buckets" directive'),
    "buckets-duplicate": (
        ZONE + f"pulse_buckets 0.1 1;\npulse_buckets 0.2 2; {BAD}\n"
        + server("location / { return 200; }"),
        '"pulse_buckets" directive is duplicate'),
    "buckets-in-server": (
        ZONE + server(f"pulse_buckets 0.1 1; {BAD}\nlocation / {{ return 200; }}"),
        '"pulse_buckets" directive is not allowed here'),
    "max-series-zero": (
        ZONE + f"pulse_max_series 0; {BAD}\n" + server("location / { return 200; }"),
        'invalid pulse_max_series "0"'),
    "max-series-not-a-number": (
        ZONE + f"pulse_max_series abc; {BAD}\n" + server("location / { return 200; }"),
        'invalid pulse_max_series "abc"'),
    "max-series-negative": (
        ZONE + f"pulse_max_series -5; {BAD}\n" + server("location / { return 200; }"),
        'invalid pulse_max_series "-5"'),
    "max-series-too-many": (
        ZONE + f"pulse_max_series 1000001; {BAD}\n" + server("location / { return 200; }"),
        'invalid pulse_max_series "1000001"'),
    "max-series-duplicate": (
        ZONE + f"pulse_max_series 10;\npulse_max_series 20; {BAD}\n"
        + server("location / { return 200; }"),
        '"pulse_max_series" directive is duplicate'),
    "max-series-in-location": (
        ZONE + server(f"location / {{ pulse_max_series 10; {BAD}\n return 200; }}"),
        '"pulse_max_series" directive is not allowed here'),
    "metrics-maybe": (
        ZONE + server(f"location / {{ pulse_metrics maybe; {BAD}\n return 200; }}"),
        'invalid value "maybe" in "pulse_metrics" directive'),
    "metrics-maybe-at-http": (
        ZONE + f"pulse_metrics maybe; {BAD}\n" + server("location / { return 200; }"),
        'invalid value "maybe" in "pulse_metrics" directive'),
    "status-codes-foo": (
        ZONE + server(f"location / {{ pulse_status_codes foo; {BAD}\n return 200; }}"),
        'invalid value "foo" in "pulse_status_codes" directive, it must be "class" or "exact"'),
    "status-codes-foo-in-server": (
        ZONE + server(f"pulse_status_codes foo; {BAD}\nlocation / {{ return 200; }}"),
        'invalid value "foo" in "pulse_status_codes" directive, it must be "class" or "exact"'),
    "exporter-with-argument": (
        ZONE + server(f"location = /metrics {{ pulse_exporter on; {BAD}\n }}"),
        'invalid number of arguments in "pulse_exporter" directive'),
    "exporter-twice": (
        ZONE + server(f"location = /metrics {{ pulse_exporter;\n pulse_exporter; {BAD}\n }}"),
        '"pulse_exporter" directive is duplicate'),
    "exporter-in-server": (
        ZONE + server(f"pulse_exporter; {BAD}\nlocation / {{ return 200; }}"),
        '"pulse_exporter" directive is not allowed here'),
    "exporter-at-http": (
        ZONE + f"pulse_exporter; {BAD}\n" + server("location / { return 200; }"),
        '"pulse_exporter" directive is not allowed here'),
    "exporter-without-zone": (
        server(f"location / {{ return 200; }}\nlocation = /metrics {{ pulse_exporter; {BAD}\n }}"),
        '"pulse_exporter" needs a "pulse_zone" in the http block in'),
    "location-name-empty": (
        ZONE + server(f'location / {{ pulse_location_name ""; {BAD}\n return 200; }}'),
        "pulse_location_name must be 1 to 256 characters"),
    "location-name-too-long": (
        ZONE + server(f'location / {{ pulse_location_name {"n" * 257}; {BAD}\n return 200; }}'),
        "pulse_location_name must be 1 to 256 characters"),
    "location-name-at-http": (
        ZONE + f"pulse_location_name api; {BAD}\n" + server("location / { return 200; }"),
        '"pulse_location_name" directive is not allowed here'),
    "location-name-in-server": (
        ZONE + server(f"pulse_location_name api; {BAD}\nlocation / {{ return 200; }}"),
        '"pulse_location_name" directive is not allowed here'),
    "location-name-missing": (
        ZONE + server(f"location / {{ pulse_location_name; {BAD}\n return 200; }}"),
        'invalid number of arguments in "pulse_location_name" directive'),
    "location-name-duplicate": (
        ZONE + server(f"location / {{ pulse_location_name a;\n pulse_location_name b; {BAD}\n"
                      f" return 200; }}"),
        '"pulse_location_name" directive is duplicate'),
}


def bad_line(ng):
    """1-based line number of the line marked BAD in the written nginx.conf."""
    lines = ng.conf_path.read_text().splitlines()
    marked = [i for i, line in enumerate(lines, 1) if BAD in line]
    assert len(marked) == 1, "the test config must mark exactly one line"
    return marked[0]


@pytest.mark.parametrize("http_body,expected", list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_bad_config_fails_with_file_and_line(nginx_factory, http_body, expected):
    ng = nginx_factory(http_body, start=False)
    rc, out = ng.test_config()
    assert rc != 0, f"nginx -t accepted a bad config:\n{out}"
    assert expected in out, out
    where = f"{ng.conf_path}:{bad_line(ng)}"
    # the location must follow the message on the same line, not come from another one
    assert any(expected in line and where in line for line in out.splitlines()), (
        f"no line names both {expected!r} and {where}:\n{out}")
    assert re.search(re.escape(where) + r"\b", out), out
    assert "test failed" in out, out


def test_exporter_without_zone_names_the_first_exporter(nginx_factory):
    """Two exporters and no zone: the message points at the first exporter's line."""
    ng = nginx_factory(
        "server {\n listen 127.0.0.1:@@main@@;\n"
        "    location = /a { pulse_exporter; " + BAD + "\n }\n"
        "    location = /b { pulse_exporter; }\n"
        "}\n", start=False)
    rc, out = ng.test_config()
    assert rc != 0, out
    assert f'"pulse_exporter" needs a "pulse_zone" in the http block in ' \
           f"{ng.conf_path}:{bad_line(ng)}" in out, out


# ---------------------------------------------------------------------------
# good configurations


def test_design_example_passes_and_works(nginx_factory, upstream):
    """The example of docs/directives.md (the original design's) on loopback, with a local
    upstream."""
    ng = nginx_factory(f"""
    upstream app {{ server {upstream.address}; }}
    pulse_zone pulse 8m;
    pulse_buckets 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10;
    pulse_max_series 4096;
    server {{
        listen 127.0.0.1:@@main@@;
        server_name example.test;
        location = /metrics {{ pulse_exporter; allow 127.0.0.1; deny all; }}
        location /static/   {{ return 200 "static\\n"; }}
        location /          {{ proxy_pass http://app; }}
        location /health    {{ pulse_metrics off; return 200 "ok\\n"; }}
    }}
    """, start=False)
    rc, out = ng.test_config()
    assert rc == 0, out
    assert "syntax is ok" in out and "test is successful" in out, out

    ng.start()
    assert ph.http_get(ng.url("main", "/app/page"))[0] == 200
    assert ph.http_get(ng.url("main", "/status/503"))[0] == 503
    assert ph.http_get(ng.url("main", "/static/a.css"))[0] == 200
    for _ in range(3):
        assert ph.http_get(ng.url("main", "/health"))[0] == 200

    def scraped():
        status, headers, body = ph.http_get(ng.url("main", "/metrics"))
        assert status == 200, body
        e = expo.Exposition(body)
        done = (e.total("nginx_http_requests_total", location="/") >= 2
                and e.total("nginx_http_upstream_requests_total", upstream="app") >= 2)
        return e if done else None

    e = ph.wait_for(scraped, timeout=20, message="the proxied requests to be counted")
    assert e.value("nginx_http_requests_total", server="example.test", location="/",
                   method="GET", status="2xx") == 1
    assert e.value("nginx_http_requests_total", server="example.test", location="/",
                   method="GET", status="5xx") == 1
    assert e.value("nginx_http_requests_total", server="example.test", location="/static/",
                   method="GET", status="2xx") == 1
    # pulse_metrics off: /health is not counted at all
    assert e.total("nginx_http_requests_total", location="/health") == 0
    assert "/health" not in e.label_values()
    assert e.total("nginx_http_upstream_requests_total", upstream="app") == 2
    assert e.value("nginx_http_upstream_requests_total", upstream="app", status="5xx") == 1
    assert e.value("nginx_pulse_series_limit") == 4096
    assert ng.crashed_workers() == []


ALL_LEVELS = f"""
    pulse_zone pulse 128k;
    pulse_buckets {BUCKETS_64};
    pulse_max_series 1000000;
    pulse_metrics on;
    pulse_status_codes class;

    server {{
        listen 127.0.0.1:@@main@@;
        server_name levels.test;
        pulse_metrics on;
        pulse_status_codes exact;

        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        location /exact/ {{ return 404; }}
        location /class/ {{ pulse_status_codes class; return 404; }}
        location /renamed/ {{
            pulse_location_name "api v1";
            pulse_metrics on;
            return 201;
            location /renamed/inner/ {{ pulse_location_name inner; return 202; }}
        }}
        location /quiet/ {{ pulse_metrics off; return 200; }}
        location /quoted/ {{ pulse_location_name "say \\"hi\\" \\\\ \u00e9"; return 200; }}
    }}

    server {{
        listen 127.0.0.1:@@quiet@@;
        server_name quiet.test;
        pulse_metrics off;
        location / {{ return 200; }}
        location /loud/ {{ pulse_metrics on; return 200; }}
    }}
"""


def test_every_directive_at_every_allowed_level(nginx_factory):
    ng = nginx_factory(ALL_LEVELS, start=False)
    rc, out = ng.test_config()
    assert rc == 0, out
    assert "test is successful" in out, out
    ng.start()

    requests = [("main", "/exact/x", 404), ("main", "/class/x", 404),
                ("main", "/renamed/x", 201), ("main", "/renamed/inner/x", 202),
                ("main", "/quiet/x", 200), ("main", "/quoted/x", 200),
                ("quiet", "/", 200), ("quiet", "/loud/x", 200)]
    for port, path, status in requests:
        assert ph.http_get(ng.url(port, path))[0] == status, path

    def scraped():
        e = expo.Exposition(ph.http_get(ng.url("main", "/metrics"))[2])
        return e if e.total("nginx_http_requests_total") >= 6 else None

    e = ph.wait_for(scraped, timeout=20, message="requests to be counted")
    counted = {(l["server"], l["location"], l["status"]): v
               for l, v in e.series("nginx_http_requests_total") if v}
    assert counted == {
        ("levels.test", "/exact/", "404"): 1,      # exact from the server level
        ("levels.test", "/class/", "4xx"): 1,      # class again in the location
        ("levels.test", "api v1", "201"): 1,       # pulse_location_name
        ("levels.test", "inner", "202"): 1,        # nested location, own name
        ("quiet.test", "/loud/", "2xx"): 1,        # metrics on in a server that is off
        ("levels.test", 'say "hi" \\ \u00e9', "200"): 1,  # escaped and read back
    }, counted
    rc, out = ph.promtool_check_metrics(e.text)
    assert (rc, out) == (0, ""), out
    # 64 buckets plus +Inf
    assert len(e.buckets("nginx_http_request_duration_seconds",
                         server="levels.test", location="/exact/")) == 65
    assert e.value("nginx_pulse_series_limit") == 1000000
    assert ng.crashed_workers() == []


@pytest.mark.parametrize("http_body", [
    ZONE + "pulse_buckets 0.5;\n",
    ZONE + "pulse_buckets 1e-3 2.5e-1 1E1;\n",
    ZONE + "pulse_max_series 1;\n",
    "pulse_zone pulse 128k;\n",
    "pulse_zone pulse 64m;\n",
    ZONE + "pulse_status_codes exact;\n",
    ZONE + "pulse_metrics off;\n",
], ids=["one-bucket", "exponent-buckets", "max-series-1", "zone-128k", "zone-64m",
        "status-exact-http", "metrics-off-http"])
def test_good_http_level_settings_pass(nginx_factory, http_body):
    ng = nginx_factory(http_body + server(
        "location = /metrics { pulse_exporter; }\nlocation / { return 200; }"), start=False)
    rc, out = ng.test_config()
    assert rc == 0, out


def test_module_without_zone_is_inert(nginx_factory, upstream):
    """load_module and no pulse_zone (location directives may still be there): nginx
    starts and serves as without the module."""
    ng = nginx_factory(f"""
    upstream app {{ server {upstream.address}; }}
    pulse_metrics on;
    server {{
        listen 127.0.0.1:@@main@@;
        server_name inert.test;
        pulse_status_codes exact;
        location / {{ proxy_pass http://app; }}
        location /local/ {{ pulse_location_name local; return 200 "local\\n"; }}
        location /off/ {{ pulse_metrics off; return 204; }}
    }}
    """, start=False)
    rc, out = ng.test_config()
    assert rc == 0, out
    ng.start()

    status, headers, body = ph.http_get(ng.url("main", "/hello?x=1"))
    assert (status, body) == (200, b"upstream 200 /hello\n")
    assert ph.http_get(ng.url("main", "/status/503"))[0] == 503
    assert ph.http_get(ng.url("main", "/local/x"))[:3:2] == (200, b"local\n")
    assert ph.http_get(ng.url("main", "/off/x"))[0] == 204
    status, _, body = ph.http_get(ng.url("main", "/x"), method="POST", data=b"a" * 5000)
    assert status == 200
    assert upstream.requests[-1][3] == b"a" * 5000
    # keep-alive and many requests: nothing depends on the module
    answer = ph.raw_request(ph.LOOPBACK, ng.port("main"),
                            b"GET /local/1 HTTP/1.1\r\nHost: a\r\n\r\n" * 20
                            + b"GET /local/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 OK") == 21
    assert ng.crashed_workers() == []
    problems = [line for line in ng.error_log().splitlines()
                if re.search(r"\[(error|crit|alert|emerg)\]|pulse: ", line)]
    assert problems == [], problems
