"""`pulse-sidecar hpa simulate`: a step and the shipped day (docs/examples/web-day.csv)
replayed through conf/kubernetes/base/hpa.yaml; the timeline obeys the HPA's behavior, the
chart is the one in docs/ and parses as SVG, bad input exits 2 naming the file."""

import csv
import io
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import pulse_harness as ph

REPO = Path(__file__).resolve().parents[2]
BASE_HPA = REPO / "conf/kubernetes/base/hpa.yaml"
DAY = REPO / "docs/examples/web-day.csv"
SVG_NS = "{http://www.w3.org/2000/svg}"


def simulate(*args):
    return subprocess.run([str(ph.sidecar_path()), "hpa", "simulate", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def timeline(path):
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    return [{k: (v if k == "reason" else float(v) if v else None) for k, v in r.items()}
            for r in rows]


def behavior():
    doc = yaml.safe_load(BASE_HPA.read_text())
    return doc["spec"]["behavior"], doc["spec"]["minReplicas"], doc["spec"]["maxReplicas"]


def changes(rows):
    """(time, replicas before, replicas after) of every decision that changed the count."""
    return [(r["time"], r["replicas"], r["desired"]) for r in rows if r["desired"] != r["replicas"]]


def check_policies(rows):
    b, lo, hi = behavior()
    up_pods = b["scaleUp"]["policies"][0]["value"]
    up_period = b["scaleUp"]["policies"][0]["periodSeconds"]
    down_pods = b["scaleDown"]["policies"][0]["value"]
    down_period = b["scaleDown"]["policies"][0]["periodSeconds"]
    ups = [(t, after - before) for t, before, after in changes(rows) if after > before]
    downs = [(t, before - after) for t, before, after in changes(rows) if after < before]
    for r in rows:
        assert lo <= r["desired"] <= hi, r
    # Never more pods added (removed) within a policy period than the policy allows.
    for events, period, allowed in ((ups, up_period, up_pods), (downs, down_period, down_pods)):
        for t, _ in events:
            in_period = sum(n for t2, n in events if t - period < t2 <= t)
            assert in_period <= allowed, (t, events)
    return ups, downs


def test_a_step_obeys_the_behavior(tmp_path):
    b, lo, _ = behavior()
    window = b["scaleDown"]["stabilizationWindowSeconds"]
    # 60 rps (within 2 pods' target of 40), then 400 rps for two hours, then 60 for four.
    t0, up_at, down_at, end = 1_000_000, 1_003_600, 1_010_800, 1_025_200
    lines = ["time,metric,value"]
    for t, rps in ((t0, 60), (up_at, 400), (down_at, 60), (end, 60)):
        lines.append(f"{t},pulse_requests_per_second,{rps}")
        lines.append(f"{t},pulse_request_duration_p95_seconds,0.2")
    trace = tmp_path / "step.csv"
    trace.write_text("\n".join(lines) + "\n")
    out = simulate("--hpa", BASE_HPA, "--trace", trace, "--csv", tmp_path / "t.csv",
                   "--svg", tmp_path / "t.svg")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    rows = timeline(tmp_path / "t.csv")
    ups, downs = check_policies(rows)
    assert summary["peakReplicas"] == 10  # ceil(400 / 40)
    assert summary["lowestReplicas"] == lo
    assert all(t >= up_at for t, _ in ups)
    # Nothing down within the scale-down stabilization window after the load dropped.
    assert downs and min(t for t, _ in downs) >= down_at + window - 15, downs
    assert summary["scaleUps"] == len(ups) and summary["scaleDowns"] == len(downs)
    assert rows[-1]["desired"] == 2 or len(downs) == (end - down_at - window) // 1800 + 1
    ET.parse(tmp_path / "t.svg")


def test_the_shipped_day_and_its_chart(tmp_path):
    out = simulate("--hpa", BASE_HPA, "--trace", DAY, "--csv", tmp_path / "day.csv",
                   "--svg", tmp_path / "day.svg", "--title",
                   "conf/kubernetes/base/hpa.yaml on a day of a shop's traffic "
                   "(docs/examples/web-day.csv)")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    rows = timeline(tmp_path / "day.csv")
    assert len(rows) == summary["syncs"] == 24 * 3600 // 15 - 3  # every 15 s of the trace
    check_policies(rows)
    assert summary["peakReplicas"] == max(r["desired"] for r in rows)
    pod_hours = sum(r["desired"] for r in rows) * 15 / 3600
    assert abs(summary["podHours"] - pod_hours) < 0.01
    [rps, p95] = summary["metrics"]
    assert rps["name"] == "pulse_requests_per_second" and rps["target"] == 40
    above = 15 * sum(1 for r in rows if r["pulse_requests_per_second_per_pod"] is not None
                     and r["pulse_requests_per_second_per_pod"] > 40)
    assert rps["secondsAboveTarget"] == above
    # The chart in docs/ is this command's output, and it is SVG.
    svg = (tmp_path / "day.svg").read_text()
    assert svg == (REPO / "docs/examples/web-day.svg").read_text(), \
        "docs/examples/web-day.svg is stale: regenerate it (docs/examples/make-web-day.py)"
    root = ET.fromstring(svg)
    assert root.tag == SVG_NS + "svg"
    assert len(root.findall(f"{SVG_NS}polyline")) == 4


@pytest.mark.parametrize("trace, message", [
    ("time,metric,value\n", "the trace has no points"),
    ("time,metric,value\n1,pulse_requests_per_second,abc\n", "is not a finite number"),
    ("time,metric,value\n1,other,3\n", "the trace has no points for the HPA's metric 0"),
    ('{"status":"success","data":{"resultType":"vector","result":[]}}', "matrix"),
])
def test_bad_traces_exit_2_naming_the_file(tmp_path, trace, message):
    path = tmp_path / "trace.csv"
    path.write_text(trace)
    out = simulate("--hpa", BASE_HPA, "--trace", path)
    assert out.returncode == 2, out
    assert message in out.stderr, out.stderr
    assert "trace.csv" in out.stderr or "hpa.yaml" in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1


def test_bad_hpa_and_flags(tmp_path):
    hpa = tmp_path / "hpa.yaml"
    hpa.write_text("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
                   "metadata: {name: x}\nspec: {maxReplicas: 0}\n")
    out = simulate("--hpa", hpa, "--trace", DAY)
    assert out.returncode == 2 and "hpa.yaml" in out.stderr, out
    out = simulate("--hpa", BASE_HPA, "--trace", DAY, "--sync-period", "soon")
    assert out.returncode == 2 and "--sync-period" in out.stderr, out
    out = simulate("--hpa", BASE_HPA, "--trace", tmp_path / "missing.csv")
    assert out.returncode == 2 and "missing.csv: cannot be read" in out.stderr, out
