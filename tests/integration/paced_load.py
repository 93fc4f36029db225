"""Requests on a schedule, not as fast as possible: `rate` a second over keep-alive
connections, so that a rate signal has a known true value."""

import http.client
import math
import time
import urllib.parse


def paced(urls, rate, seconds=math.inf, stop=None):
    """Sends `rate` requests a second for `seconds` (or until `stop` is set), to `urls` in
    turn (one URL, or a list: every len(urls)-th request to each), each over a keep-alive
    connection of its own. Returns how many were sent."""
    urls = [urls] if isinstance(urls, str) else list(urls)
    parts = [urllib.parse.urlsplit(u) for u in urls]
    conns = [http.client.HTTPConnection(p.hostname, p.port, timeout=10) for p in parts]
    start, n = time.monotonic(), 0
    try:
        while time.monotonic() - start < seconds and not (stop and stop.is_set()):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            i = n % len(urls)
            conns[i].request("GET", parts[i].path or "/")
            conns[i].getresponse().read()
            n += 1
    finally:
        for conn in conns:
            conn.close()
    return n
