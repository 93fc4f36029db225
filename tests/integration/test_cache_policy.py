"""pulse_cache_policy against the real nginx: one Cache-Control line and a matching
Expires per class, nginx's expires/add_header in the same location overridden, upstream
no-store/private/no-cache kept, only the statuses expires applies to, and the counter."""

import email.utils
import urllib.parse

import pulse_harness as ph
from expo import Exposition

YEAR = "public, max-age=31536000, immutable"
IMAGE = "public, max-age=86400, stale-while-revalidate=86400"
METEOR = "0123456789abcdef0123456789abcdef01234567"

CONFIG = """
    pulse_zone pulse 1m;
    upstream app {{ server 127.0.0.1:{up}; }}
    server {{
        listen 127.0.0.1:@@http@@;
        server_name cache.test;
        root @@dir@@/html;
        include /etc/nginx/mime.types;
        location = /metrics {{ pulse_exporter; pulse_metrics off; }}
        location / {{ pulse_cache_policy auto; }}
        location /spa/ {{ pulse_cache_policy auto; try_files $uri /index.html; }}
        location /both/ {{
            pulse_cache_policy auto;
            expires 1h;
            add_header Cache-Control "public, max-age=5";
            add_header X-Extra kept;
        }}
        location /app/ {{ pulse_cache_policy auto; proxy_pass http://app/; }}
        location /forced/ {{ pulse_cache_policy auto override; proxy_pass http://app/; }}
        location /plain/ {{ }}
        location /rules/ {{
            pulse_cache_policy auto;
            pulse_cache_rule .css 10m;
            pulse_cache_rule image off;
            pulse_cache_rule fingerprinted 30d;
        }}
        location /build/ {{ pulse_cache_policy auto; pulse_cache_versioned_prefix /build/; }}
        location /boom/ {{ pulse_cache_policy auto; return 500; }}
    }}
"""

FILES = {
    "html/index.html": "<!doctype html><title>spa</title>\n",
    "html/assets/app.3f2a9c1b.js": "console.log(1)\n" * 50,
    "html/assets/logo.png": "PNG" * 100,
    "html/assets/site.css": "body{}\n",
    "html/assets/font.woff2": "w" * 100,
    f"html/{METEOR}.js": "meteor()\n",
    "html/_next/static/chunks/main.js": "next()\n",
    "html/files/report.zip": "PK" * 50,
    "html/data.json": "{}\n",
    "html/both/app.3f2a9c1b.js": "x\n",
    "html/both/readme.zip": "PK\n",
    "html/rules/a.css": "a{}\n",
    "html/rules/b.png": "PNG\n",
    "html/rules/c.5d41402abc.js": "c\n",
    "html/build/main.js": "built\n",
    "html/spa/about.html": "<p>about</p>\n",
}


def start(nginx_factory, upstream):
    ng = nginx_factory(CONFIG.format(up=upstream.port))
    for path, content in FILES.items():
        ng.write_file(path, content)
    return ng


def get(ng, path, **kw):
    return ph.http_get(ng.url("http", path), **kw)


def cache_control(headers):
    return headers.get("cache-control", [])


def expires_in(headers):
    """Seconds from the response's Date to its Expires."""
    (expires,) = headers["expires"]
    date = email.utils.parsedate_to_datetime(headers.first("date"))
    return (email.utils.parsedate_to_datetime(expires) - date).total_seconds()


def test_fingerprinted_assets_are_immutable_for_a_year(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    for path in ("/assets/app.3f2a9c1b.js", f"/{METEOR}.js", f"/{METEOR}.js?meteor_js_resource=true",
                 "/_next/static/chunks/main.js", "/assets/site.css?v=3f2a9c1b5e",
                 "/build/main.js"):
        status, headers, _ = get(ng, path)
        assert status == 200, path
        assert cache_control(headers) == [YEAR], path
        assert expires_in(headers) == 31536000, path


def test_unversioned_static_gets_a_short_revalidated_lifetime(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    status, headers, _ = get(ng, "/assets/logo.png")
    assert status == 200 and cache_control(headers) == [IMAGE]
    assert expires_in(headers) == 86400
    for path in ("/assets/site.css", "/assets/font.woff2"):
        (cc,) = cache_control(get(ng, path)[1])
        assert cc.startswith("public, max-age=") and "stale-while-revalidate=" in cc, (path, cc)
        assert "immutable" not in cc


def test_documents_revalidate_and_others_are_untouched(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    for path in ("/", "/index.html", "/data.json", "/spa/about.html", "/spa/deep/route"):
        status, headers, _ = get(ng, path)
        assert status == 200, path
        assert cache_control(headers) == ["no-cache"], path
        assert headers["expires"] == ["Thu, 01 Jan 1970 00:00:01 GMT"], path
    status, headers, _ = get(ng, "/files/report.zip")
    assert status == 200 and "cache-control" not in headers and "expires" not in headers
    status, headers, _ = get(ng, "/plain/")  # policy off: nothing set
    assert "cache-control" not in headers


def test_one_cache_control_line_over_expires_and_add_header(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    status, headers, _ = get(ng, "/both/app.3f2a9c1b.js")
    assert status == 200
    assert cache_control(headers) == [YEAR]
    assert len(headers["expires"]) == 1 and expires_in(headers) == 31536000
    assert headers["x-extra"] == ["kept"]  # other headers untouched
    # An untouched class keeps what the location itself said.
    status, headers, _ = get(ng, "/both/readme.zip")
    assert len(cache_control(headers)) == 2  # expires' max-age and add_header's line


def test_upstream_no_store_private_no_cache_are_kept(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    for cc in ("no-store", "private, max-age=60", "no-cache", 'private="set-cookie", max-age=5'):
        query = urllib.parse.urlencode({"cc": cc, "ct": "text/css"})
        status, headers, _ = get(ng, f"/app/{METEOR}.css?{query}")
        assert status == 200
        assert cache_control(headers) == [cc], cc
    # Meteor answers a missing CSS bundle with a 200 no-cache stub: it stays no-cache.
    status, headers, _ = get(ng, f"/app/{METEOR}.css?meteor_css_resource=true&cc=no-cache&ct=text/css")
    assert cache_control(headers) == ["no-cache"]
    # Anything else from the upstream is replaced by the policy.
    query = urllib.parse.urlencode([("cc", "public, max-age=60"), ("cc", "s-maxage=5"), ("ct", "text/css")])
    status, headers, _ = get(ng, f"/app/{METEOR}.css?{query}")
    assert cache_control(headers) == [YEAR]
    # ...and with override even no-store is.
    status, headers, _ = get(ng, f"/forced/{METEOR}.css?cc=no-store&ct=text/css")
    assert cache_control(headers) == [YEAR]


def test_only_statuses_expires_applies_to(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    for status in (404, 500, 503):
        s, headers, _ = get(ng, f"/app/{METEOR}.js?status={status}&ct=application/javascript")
        assert s == status
        assert "cache-control" not in headers, status  # errors never get a lifetime
    s, headers, _ = get(ng, "/assets/missing.3f2a9c1b.js")
    assert s == 404 and "cache-control" not in headers
    s, headers, _ = get(ng, "/boom/app.3f2a9c1b.js")
    assert s == 500 and "cache-control" not in headers
    # A temporary redirect is revalidated even when its URL looks versioned.
    s, headers, _ = get(ng, f"/app/{METEOR}.js?status=302&ct=text/html")
    assert s == 302 and cache_control(headers) == ["no-cache"]
    s, headers, _ = get(ng, f"/app/{METEOR}.js?status=301&ct=text/html")
    assert s == 301 and cache_control(headers) == [YEAR]


def test_304_is_classified_by_its_url(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    status, headers, _ = get(ng, "/assets/app.3f2a9c1b.js")
    last_modified = headers.first("last-modified")
    status, headers, _ = get(ng, "/assets/app.3f2a9c1b.js", headers={"If-Modified-Since": last_modified})
    assert status == 304
    assert cache_control(headers) == [YEAR]
    status, headers, _ = get(ng, f"/app/{METEOR}.css?status=304")
    assert status == 304 and cache_control(headers) == [YEAR]


def test_range_and_head_requests(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    status, headers, body = get(ng, "/assets/app.3f2a9c1b.js", headers={"Range": "bytes=0-9"})
    assert status == 206 and len(body) == 10 and cache_control(headers) == [YEAR]
    status, headers, body = get(ng, "/assets/logo.png", method="HEAD")
    assert status == 200 and body == b"" and cache_control(headers) == [IMAGE]


def test_rules_change_durations_per_extension_and_class(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    (cc,) = cache_control(get(ng, "/rules/a.css")[1])
    assert cc.startswith("public, max-age=600"), cc
    assert "cache-control" not in get(ng, "/rules/b.png")[1]  # image off
    headers = get(ng, "/rules/c.5d41402abc.js")[1]
    assert cache_control(headers) == ["public, max-age=2592000, immutable"]
    assert expires_in(headers) == 2592000


def test_policy_counter_counts_each_class(nginx_factory, upstream):
    ng = start(nginx_factory, upstream)
    for path in ("/assets/app.3f2a9c1b.js", "/assets/app.3f2a9c1b.js", "/assets/logo.png",
                 "/index.html", "/files/report.zip", "/assets/nope.png"):
        get(ng, path)
    get(ng, f"/app/x.css?cc=no-store&ct=text/css")

    def counted():
        status, _, body = get(ng, "/metrics")
        e = Exposition(body)
        return e if e.total("nginx_http_cache_policy_responses_total") == 7 else None

    e = ph.wait_for(counted, message="7 responses counted")
    policy = "nginx_http_cache_policy_responses_total"
    assert e.value(policy, server="cache.test", location="/", policy="fingerprinted") == 2
    assert e.value(policy, server="cache.test", location="/", policy="static") == 1
    assert e.value(policy, server="cache.test", location="/", policy="document") == 1
    assert e.value(policy, server="cache.test", location="/", policy="untouched") == 2  # zip, 404
    assert e.value(policy, server="cache.test", location="/app/", policy="upstream") == 1
    rc, out = ph.promtool_check_metrics(e.text)
    assert rc == 0, out


def test_policy_without_a_zone_still_sets_headers(nginx_factory):
    ng = nginx_factory("""
        server {
            listen 127.0.0.1:@@http@@;
            root @@dir@@/html;
            location / { pulse_cache_policy auto; }
        }""")
    ng.write_file("html/app.3f2a9c1b.js", "x")
    status, headers, _ = get(ng, "/app.3f2a9c1b.js")
    assert status == 200 and cache_control(headers) == [YEAR]


def test_bad_policy_directives_fail_nginx_t(nginx_factory):
    cases = {
        "pulse_cache_policy sometimes;": 'invalid value "sometimes" in "pulse_cache_policy" directive',
        "pulse_cache_policy auto forever;": 'invalid parameter "forever" in "pulse_cache_policy"',
        "pulse_cache_policy off override;": 'invalid parameter "override"',
        "pulse_cache_rule .css 7x;": "pulse_cache_rule:",
        "pulse_cache_rule banana 1d;": "pulse_cache_rule:",
        "pulse_cache_rule static;": 'invalid number of arguments in "pulse_cache_rule"',
        "pulse_cache_versioned_prefix static/;": 'must start with "/"',
    }
    for line, message in cases.items():
        ng = nginx_factory(f"""
            server {{
                listen 127.0.0.1:@@http@@;
                location / {{
                    {line}
                }}
            }}""", start=False)
        rc, out = ng.test_config()
        assert rc != 0, line
        assert message in out, (line, out)
        assert f"{ng.conf_path}:" in out, out
