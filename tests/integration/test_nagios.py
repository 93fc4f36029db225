"""`pulse-sidecar check` as a Nagios 4 service check (Debian's nagios4-core) against a real
sidecar scraping the real nginx with the module: the state, the status line and the
performance data Nagios records for OK, WARNING, CRITICAL and UNKNOWN, readiness and the
drain state, then the same after nginx stops."""

import threading
import time

import pulse_harness as ph
from nagios_harness import Nagios, now
from paced_load import paced

FAST = ("--interval", "200ms", "--window", "3s", "--stale-after", "1s")

NGINX = """
    pulse_zone pulse 1m;
    server {
        listen 127.0.0.1:@@http@@;
        server_name web;
        location = /metrics { pulse_exporter; pulse_metrics off; }
        location / { return 200 "ok"; }
    }
"""

RATE = 40  # requests a second while Nagios checks


def perf_value(perfdata, label):
    """The value of 'label'=value... in a performance data string."""
    for item in perfdata.split():
        name, _, rest = item.partition("=")
        if name.strip("'") == label:
            return float(rest.split(";")[0].rstrip("s"))
    raise AssertionError(f"no {label} in {perfdata!r}")


def test_nagios_records_every_state(nginx_factory, sidecar_factory, tmp_path):
    ng = nginx_factory(NGINX)
    sc = sidecar_factory(ng.url("http", "/metrics"), *FAST)
    ph.wait_for(lambda: sc.get("/readyz")[0] == 200, message="sidecar ready")
    side = f"--sidecar {sc.url('').rstrip('/')}"
    rps = f"{side} --signal pulse_requests_per_second"
    nagios = Nagios({
        "rps ok": f"{rps} -w {RATE * 3} -c {RATE * 5}",
        "rps warning": f"{rps} -w {RATE // 4} -c {RATE * 5}",
        "rps critical": f"{rps} -w {RATE // 4} -c {RATE // 2}",
        "rps server web": f"{rps} --server web -w @0:{RATE // 4} --max-age 5s",
        "ready": f"{side} --ready",
        "drain": f"{side} --drain-state",
        "module direct": f"--nginx {ng.url('http', '/metrics')} "
                         f"--signal pulse_requests_in_flight -w 1000 --sample 500ms",
    }, base=tmp_path).start()
    stop = threading.Event()
    load = threading.Thread(target=paced, args=(ng.url("http", "/"), RATE),
                            kwargs={"stop": stop})
    load.start()
    try:
        # the 3 s window filled at the steady rate before the results counted
        time.sleep(4)
        r = nagios.results_after(now(), ["rps ok", "rps warning", "rps critical",
                                         "rps server web", "ready", "drain", "module direct"])
        assert r["rps ok"]["state"] == "OK", r["rps ok"]
        assert r["rps warning"]["state"] == "WARNING", r["rps warning"]
        assert r["rps critical"]["state"] == "CRITICAL", r["rps critical"]
        assert r["rps server web"]["state"] == "OK", r["rps server web"]
        for name in ("rps ok", "rps warning", "rps critical"):
            assert r[name]["output"].startswith(
                f"PULSE {r[name]['state']} - pulse_requests_per_second = "), r[name]
            value = perf_value(r[name]["perfdata"], "pulse_requests_per_second")
            assert abs(value - RATE) <= RATE * 0.25, (name, r[name])
        assert r["rps ok"]["perfdata"].endswith(f";{RATE * 3};{RATE * 5};0;"), r["rps ok"]
        assert perf_value(r["rps server web"]["perfdata"],
                          "pulse_requests_per_second:web") > RATE / 2, r["rps server web"]
        assert r["ready"]["state"] == "OK" and r["ready"]["output"] == "PULSE OK - ready"
        assert r["drain"]["output"] == "PULSE OK - not draining", r["drain"]
        assert r["module direct"]["state"] == "OK", r["module direct"]
        assert "pulse_requests_in_flight" in r["module direct"]["perfdata"], r["module direct"]
    finally:
        stop.set()
        load.join()

    # nginx gone: no current number (UNKNOWN, with the reason), the pod not ready (CRITICAL),
    # and the module read directly is a dead endpoint (UNKNOWN).
    ng.stop()
    ph.wait_for(lambda: sc.get("/readyz")[0] == 503, message="sidecar not ready")
    gone = nagios.results_after(now(), ["rps ok", "ready", "module direct"])
    assert gone["rps ok"]["state"] == "UNKNOWN", gone["rps ok"]
    assert "stale" in gone["rps ok"]["output"], gone["rps ok"]
    assert gone["rps ok"]["perfdata"] == "", gone["rps ok"]
    assert gone["ready"]["state"] == "CRITICAL", gone["ready"]
    assert gone["ready"]["output"].startswith("PULSE CRITICAL - not ready: "), gone["ready"]
    assert gone["module direct"]["state"] == "UNKNOWN", gone["module direct"]
    assert "Connection refused" in gone["module direct"]["output"], gone["module direct"]

    # the sidecar gone too: a dead endpoint is UNKNOWN with the reason
    sc.stop()
    dead = nagios.results_after(now(), ["rps critical", "drain"])
    for name in ("rps critical", "drain"):
        assert dead[name]["state"] == "UNKNOWN", dead[name]
        assert "Connection refused" in dead[name]["output"], dead[name]
    nagios.stop()
    assert "Error" not in nagios.log(), nagios.log()


def test_bad_thresholds_and_arguments_are_unknown():
    sidecar = str(ph.sidecar_path())
    import subprocess
    for args, why in ((["--signal", "pulse_requests_per_second", "-w", "20:10"], "greater"),
                      (["--signal", "pulse_requests_per_second", "-c", "x"], "not a number"),
                      (["--frobnicate"], "not expected"),
                      ([], "give one of")):
        r = subprocess.run([sidecar, "check", "--sidecar", "http://127.0.0.1:9", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        assert r.returncode == 3, (args, r)
        lines = r.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith("PULSE UNKNOWN - "), (args, r.stdout)
        assert why in lines[0], (args, lines[0])
