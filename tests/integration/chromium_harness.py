"""Debian's Chromium, headless, loading a page from loopback the way a person's browser
would: the DOM after its scripts ran, what it logged to the console, every connection and
request it made (Chromium's own net log, bodies included), and a screenshot. Chromium's own
background traffic (updates, sign-in, time) is switched off, and every host name but
127.0.0.1 resolves to nothing, so nothing leaves loopback whatever it tries."""

import base64
import json
import shutil
import subprocess

import pulse_harness as ph

QUIET = [
    "--headless=new", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--disable-client-side-phishing-detection",
    "--disable-domain-reliability", "--no-pings", "--disable-breakpad",
    "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def chromium_bin():
    path = shutil.which("chromium")
    if path is None:
        raise ph.HarnessError("chromium is missing: run scripts/install-deps.sh")
    return path


class PageLoad:
    """One headless load of `url`; `seconds` of the page's own (virtual) time pass before
    the DOM is taken."""

    def __init__(self, url, workdir, seconds=6, window="1280,900", screenshot=None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.netlog = workdir / "net.json"
        args = [chromium_bin(), *QUIET, f"--user-data-dir={workdir / 'profile'}",
                "--enable-logging=stderr", "--v=0", f"--log-net-log={self.netlog}",
                "--net-log-capture-mode=Everything", f"--virtual-time-budget={seconds * 1000}",
                f"--window-size={window}"]
        import os
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium's sandbox needs an unprivileged user
        args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
        r = subprocess.run([*args, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120, cwd=workdir)
        if r.returncode != 0:
            raise ph.HarnessError(f"chromium exited {r.returncode}:\n{r.stderr[-3000:]}")
        self.dom = r.stdout
        self.log = r.stderr
        with open(self.netlog) as f:
            self.net = json.load(f)

    def console(self):
        """What the page wrote to the console, its errors (exceptions, CSP refusals) too."""
        return [line for line in self.log.splitlines() if ":CONSOLE" in line]

    def _events(self, name):
        types = {v: k for k, v in self.net["constants"]["logEventTypes"].items()}
        return [e for e in self.net["events"] if types.get(e["type"]) == name]

    def connections(self):
        """Every address a TCP connection was attempted to, and every UDP datagram sent."""
        tcp = [e["params"]["address"] for e in self._events("TCP_CONNECT_ATTEMPT")
               if "address" in e.get("params", {})]
        udp = [e.get("params", {}) for e in self._events("UDP_SEND_ERROR")]
        udp += [e.get("params", {}) for e in self._events("UDP_BYTES_SENT")]
        return tcp, udp

    def responses(self, origin):
        """[(url, body)] of the requests the page at `origin` made (the page itself, and
        what its scripts asked for), from the net log's bytes. Chromium's own requests
        (initiator "not an origin") are not the page's; connections() shows that they never
        left loopback either."""
        urls, bodies = {}, {}
        for e in self._events("URL_REQUEST_START_JOB"):
            p = e.get("params", {})
            if "url" in p and (p.get("request_type") == "main frame" or
                               p.get("initiator") == origin):
                urls[e["source"]["id"]] = p["url"]
        for e in self._events("URL_REQUEST_JOB_FILTERED_BYTES_READ"):
            data = e.get("params", {}).get("bytes")
            if data is not None:
                bodies.setdefault(e["source"]["id"], b"")
                bodies[e["source"]["id"]] += base64.b64decode(data)
        return [(urls[i], bodies.get(i, b"")) for i in urls]
