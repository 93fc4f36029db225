"""`pulse-sidecar hpa decide` on the shipped HPAs (conf/kubernetes/base/hpa.yaml, the web
deploy's; conf/kubernetes/workers/jobs/hpa.yaml, the workers') with hand-made states, each
expectation worked out from kube-controller-manager 1.20's rules in the comments beside it
(pkg/controller/podautoscaler: replica_calculator.go, horizontal.go), so the numbers are
the controller's, not a copy of pulse's output. Bad inputs exit 2 with a line naming the
field; --batch answers line by line and carries on after a bad one.

The web HPA: minReplicas 2, maxReplicas 20; Pods pulse_requests_per_second target 40 and
pulse_request_duration_p95_seconds target 400m; behavior: scaleUp window 60 s, Max of
{Pods 1 per 300 s}; scaleDown window 3600 s, Max of {Pods 1 per 1800 s}.
The workers-emails HPA: 1..10; Object pulse_jobs_waiting of Deployment workers-emails,
AverageValue 100; scaleUp window 60 s {Pods 1 per 300 s}; scaleDown 3600 s {Pods 1 per 300 s}.
"""

import json
import subprocess

import pytest
import yaml

import pulse_harness as ph

WEB_HPA = ph.REPO_ROOT / "conf" / "kubernetes" / "base" / "hpa.yaml"
WORKERS_HPA = ph.REPO_ROOT / "conf" / "kubernetes" / "workers" / "jobs" / "hpa.yaml"

NOW = 1000
SCALE_UP_LIMIT = ("ScaleUpLimit",
                  "the desired replica count is increasing faster than the maximum scale rate")
SCALE_DOWN_LIMIT = ("ScaleDownLimit",
                    "the desired replica count is decreasing faster than the maximum scale rate")
WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
READY_FOR_NEW_SCALE = ("ReadyForNewScale", "recommended size matches current size")
UP_STABILIZED = ("ScaleUpStabilized", "recent recommendations were lower than current one, "
                 "applying the lowest recent recommendation")
DOWN_STABILIZED = ("ScaleDownStabilized", "recent recommendations were higher than current "
                   "one, applying the highest recent recommendation")


@pytest.fixture(scope="module")
def sidecar():
    path = ph.sidecar_path()
    if not path.is_file():
        pytest.fail(f"sidecar not built: run make (no {path})", pytrace=False)
    return path


def decide(sidecar, tmp_path, hpa, state, *flags):
    """Runs hpa decide on `hpa` (a path, or text) and `state` (a dict, or text); returns
    (exit code, stdout, stderr)."""
    if not hasattr(hpa, "read_text"):
        p = tmp_path / "hpa.yaml"
        p.write_text(hpa)
        hpa = p
    s = tmp_path / "state.json"
    s.write_text(state if isinstance(state, str) else json.dumps(state))
    r = subprocess.run([str(sidecar), "hpa", "decide", "--hpa", str(hpa), "--state", str(s),
                        *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr


def decision(sidecar, tmp_path, hpa, state, *flags):
    code, out, err = decide(sidecar, tmp_path, hpa, state, *flags)
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def conditions(d):
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in d["conditions"]]


def web_state(current, rps, p95="100m", **extra):
    """`current` running pods, started long ago and ready, each reporting `rps` requests
    per second and a p95 of `p95`."""
    pods = [f"web-{i}" for i in range(current)]
    state = {
        "time": NOW,
        "currentReplicas": current,
        "pods": [{"name": p, "phase": "Running", "ready": True, "startTime": 0,
                  "readySince": 10} for p in pods],
        "metrics": {"pods": {"pulse_requests_per_second": {p: rps for p in pods},
                             "pulse_request_duration_p95_seconds": {p: p95 for p in pods}}},
    }
    state.update(extra)
    return state


def workers_state(current, jobs, **extra):
    state = {
        "time": NOW,
        "currentReplicas": current,
        "pods": [{"name": f"workers-emails-{i}", "startTime": 0, "readySince": 10}
                 for i in range(current)],
        "metrics": {"object": {"pulse_jobs_waiting": jobs}},
    }
    state.update(extra)
    return state


# ---- the web deploy's HPA ------------------------------------------------------------

def test_web_scale_up_limited_by_the_one_pod_policy(sidecar, tmp_path):
    # 3 pods at 60 rps against 40: usage ratio 60/40 = 1.5, outside 1 +/- 0.1, all pods
    # ready with a metric: ceil(1.5 x 3) = 5 (GetMetricReplicas). p95 100m against 400m:
    # ratio 0.25, ceil(0.25 x 3) = 1. The largest, 5, from the first metric.
    # No history given: the scale-up window (60 s) has no recommendation but this one: 5.
    # Scale-up policy Pods 1 per 300 s, no event in the period: 3 + 1 = 4 < maxReplicas
    # 20, so the limit is ScaleUpLimit and desired is 4. The controller records the
    # unstabilized 5 and, rescaling an HPA with behavior, a scale-up event of 1.
    d = decision(sidecar, tmp_path, WEB_HPA, web_state(3, "60"))
    assert d == {
        "desiredReplicas": 4,
        "currentReplicas": 3,
        "rescale": True,
        "metrics": [
            {"type": "Pods", "name": "pulse_requests_per_second",
             "target": {"type": "AverageValue", "averageValue": "40"},
             "proposal": 5, "current": {"averageValue": "60"}},
            {"type": "Pods", "name": "pulse_request_duration_p95_seconds",
             "target": {"type": "AverageValue", "averageValue": "400m"},
             "proposal": 1, "current": {"averageValue": "100m"}},
        ],
        "proposedReplicas": 5,
        "stabilizedReplicas": 5,
        "limit": {"reason": SCALE_UP_LIMIT[0], "message": SCALE_UP_LIMIT[1]},
        "conditions": [
            {"type": "AbleToScale", "status": "True", "reason": "SucceededRescale",
             "message": "the HPA controller was able to update the target scale to 4"},
            {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
             "message": "the HPA was able to successfully calculate a replica count from "
                        "pods metric pulse_requests_per_second"},
            {"type": "ScalingLimited", "status": "True", "reason": SCALE_UP_LIMIT[0],
             "message": SCALE_UP_LIMIT[1]},
        ],
        "recordedRecommendation": {"time": NOW, "replicas": 5},
        "recordedScaleEvent": {"time": NOW, "change": 1, "direction": "up"},
    }


def test_web_scale_up_event_in_the_period_holds(sidecar, tmp_path):
    # As above, but a pod was added 100 s ago: within the 300 s period the count started
    # at 3 - 1 = 2, so the policy allows 2 + 1 = 3, the current count: no rescale, and
    # ScalingLimited says why.
    d = decision(sidecar, tmp_path, WEB_HPA,
                 web_state(3, "60", scaleUpEvents=[{"time": NOW - 100, "change": 1}]))
    assert (d["proposedReplicas"], d["stabilizedReplicas"], d["desiredReplicas"]) == (5, 5, 3)
    assert d["rescale"] is False
    assert d["recordedScaleEvent"] is None
    assert d["recordedRecommendation"] == {"time": NOW, "replicas": 5}
    assert conditions(d) == [
        ("AbleToScale", "True", *READY_FOR_NEW_SCALE),
        ("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully "
         "calculate a replica count from pods metric pulse_requests_per_second"),
        ("ScalingLimited", "True", *SCALE_UP_LIMIT),
    ]


def test_web_first_pass_seeded_history_holds_the_scale_up(sidecar, tmp_path):
    # The controller's first pass seeds its history with the current count at now
    # (recordInitialRecommendation); decide takes the history as given, so here it is
    # given. The scale-up window (60 s) then holds {3 at now, 5}: the lowest, 3.
    d = decision(sidecar, tmp_path, WEB_HPA,
                 web_state(3, "60", recommendations=[{"time": NOW, "replicas": 3}]))
    assert (d["proposedReplicas"], d["stabilizedReplicas"], d["desiredReplicas"]) == (5, 3, 3)
    assert d["rescale"] is False
    assert d["limit"] == {"reason": WITHIN_RANGE[0], "message": WITHIN_RANGE[1]}
    assert conditions(d)[0] == ("AbleToScale", "True", *UP_STABILIZED)
    assert conditions(d)[2] == ("ScalingLimited", "False", *WITHIN_RANGE)


def test_web_scale_down_waits_for_the_hour(sidecar, tmp_path):
    # 5 pods at 10 rps: ratio 0.25, ceil(0.25 x 5) = ceil(1.25) = 2; p95 likewise 2.
    # A recommendation of 5 from 30 minutes ago is inside the 3600 s scale-down window:
    # the highest, 5, is the current count: no change.
    d = decision(sidecar, tmp_path, WEB_HPA,
                 web_state(5, "10", recommendations=[{"time": NOW - 1800, "replicas": 5}]))
    assert [m["proposal"] for m in d["metrics"]] == [2, 2]
    assert [m["current"] for m in d["metrics"]] == [{"averageValue": "10"},
                                                    {"averageValue": "100m"}]
    assert (d["proposedReplicas"], d["stabilizedReplicas"], d["desiredReplicas"]) == (2, 5, 5)
    assert d["rescale"] is False
    assert conditions(d)[0] == ("AbleToScale", "True", *DOWN_STABILIZED)
    assert conditions(d)[2] == ("ScalingLimited", "False", *WITHIN_RANGE)


def test_web_tolerance(sidecar, tmp_path):
    # 42 rps against 40: ratio 1.05, within the default tolerance 0.1: the metric proposes
    # the current 3 (p95 proposes 1). With --tolerance 0.01: ceil(1.05 x 3) = 4, which the
    # one-pod policy allows (3 + 1).
    d = decision(sidecar, tmp_path, WEB_HPA, web_state(3, "42"))
    assert d["metrics"][0]["proposal"] == 3
    assert (d["desiredReplicas"], d["rescale"]) == (3, False)
    for flag in ("--tolerance", "--horizontal-pod-autoscaler-tolerance"):
        d = decision(sidecar, tmp_path, WEB_HPA, web_state(3, "42"), flag, "0.01")
        assert d["metrics"][0]["proposal"] == 4
        assert (d["desiredReplicas"], d["rescale"]) == (4, True)
        assert d["limit"] == {"reason": WITHIN_RANGE[0], "message": WITHIN_RANGE[1]}


# ---- the workers' HPAs -----------------------------------------------------------------

def test_workers_object_metric_scale_up(sidecar, tmp_path):
    # 450 jobs waiting, 2 workers, AverageValue 100 (GetObjectPerPodMetricReplicas): usage
    # ratio 450 / (100 x 2) = 2.25, so ceil(450 / 100) = 5; the average the controller
    # reports is ceil(450 / 2) = 225. The last recommendation (2, 100 s ago) is outside the
    # 60 s scale-up window: stabilized 5. The one-pod policy: 2 + 1 = 3.
    d = decision(sidecar, tmp_path, WORKERS_HPA,
                 workers_state(2, "450", recommendations=[{"time": NOW - 100, "replicas": 2}]),
                 "--hpa-name", "workers-emails")
    (m,) = d["metrics"]
    assert m["type"] == "Object"
    assert m["name"] == "pulse_jobs_waiting"
    assert m["describedObject"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": "workers-emails"}
    assert m["target"] == {"type": "AverageValue", "averageValue": "100"}
    assert m["proposal"] == 5
    assert m["current"] == {"averageValue": "225"}
    assert (d["proposedReplicas"], d["stabilizedReplicas"], d["desiredReplicas"]) == (5, 5, 3)
    assert d["limit"] == {"reason": SCALE_UP_LIMIT[0], "message": SCALE_UP_LIMIT[1]}
    assert d["recordedScaleEvent"] == {"time": NOW, "change": 1, "direction": "up"}
    # The controller words a per-pod Object metric as an external one.
    assert conditions(d)[1] == ("ScalingActive", "True", "ValidMetricFound",
                                "the HPA was able to successfully calculate a replica count "
                                "from external metric pulse_jobs_waiting(nil)")


def test_workers_scale_down_after_the_hour(sidecar, tmp_path):
    # 50 jobs, 4 workers: ratio 50 / 400 = 0.125, ceil(50 / 100) = 1; the average
    # ceil(50 / 4) = 12.5 -> "12500m". The only recommendation (4) is older than the 3600 s
    # window: stabilized 1. Scale-down policy Pods 1 per 300 s, no event: 4 - 1 = 3, above
    # minReplicas 1: ScaleDownLimit, desired 3, a scale-down event of 1.
    d = decision(sidecar, tmp_path, WORKERS_HPA,
                 workers_state(4, "50", time=10000,
                               recommendations=[{"time": 6000, "replicas": 4}]),
                 "--hpa-name", "workers-emails")
    assert d["metrics"][0]["proposal"] == 1
    assert d["metrics"][0]["current"] == {"averageValue": "12500m"}
    assert (d["proposedReplicas"], d["stabilizedReplicas"], d["desiredReplicas"]) == (1, 1, 3)
    assert d["limit"] == {"reason": SCALE_DOWN_LIMIT[0], "message": SCALE_DOWN_LIMIT[1]}
    assert d["recordedScaleEvent"] == {"time": 10000, "change": 1, "direction": "down"}
    assert d["recordedRecommendation"] == {"time": 10000, "replicas": 1}
    assert conditions(d)[2] == ("ScalingLimited", "True", *SCALE_DOWN_LIMIT)


def test_workers_no_queue_value_holds(sidecar, tmp_path):
    # No value for the queue (the adapter's 404): the only metric fails, the controller
    # holds the count and says why in ScalingActive.
    state = workers_state(3, "1")
    state["metrics"] = {}
    d = decision(sidecar, tmp_path, WORKERS_HPA, state, "--hpa-name", "workers-thumbnails")
    assert (d["desiredReplicas"], d["rescale"]) == (3, False)
    assert d["proposedReplicas"] is None and d["limit"] is None
    assert "error" in d["metrics"][0]
    assert d["metrics"][0]["reason"] == "FailedGetObjectMetric"
    (active,) = [c for c in d["conditions"] if c["type"] == "ScalingActive"]
    assert (active["status"], active["reason"]) == ("False", "FailedGetObjectMetric")


# ---- autoscaling/v1 and the controller's flags -------------------------------------------

V1_HPA = """apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  maxReplicas: 10
  targetCPUUtilizationPercentage: 50
"""


def test_v1_cpu_and_the_downscale_stabilization_flag(sidecar, tmp_path):
    # 4 pods, each one container requesting 500m and using 100m, started long ago and ready
    # (outside the CPU initialization period): utilization 400 x 100 / 2000 = 20 %, ratio
    # 20 / 50 = 0.4, ceil(0.4 x 4) = 2; the raw average 100m. No behavior: the downscale
    # stabilization window (default 300 s) still holds the recommendation of 4 made 100 s
    # ago, so nothing changes; with a 60 s window it is too old, and 2 is within
    # [minReplicas 1, max(2 x 4, 4) = 8]: rescale to 2. No scale event without behavior.
    pods = [f"api-{i}" for i in range(4)]
    state = {
        "time": NOW, "currentReplicas": 4,
        "pods": [{"name": p, "startTime": 0, "readySince": 10,
                  "containers": [{"name": "app", "requests": {"cpu": "500m"}}]} for p in pods],
        "metrics": {"resource": {"cpu": {p: "100m" for p in pods}}},
        "recommendations": [{"time": NOW - 100, "replicas": 4}],
    }
    d = decision(sidecar, tmp_path, V1_HPA, state)
    (m,) = d["metrics"]
    assert (m["type"], m["name"]) == ("Resource", "cpu")
    assert m["target"] == {"type": "Utilization", "averageUtilization": 50}
    assert m["proposal"] == 2
    assert m["current"] == {"averageUtilization": 20, "averageValue": "100m"}
    assert (d["proposedReplicas"], d["stabilizedReplicas"], d["desiredReplicas"]) == (2, 4, 4)
    assert conditions(d) == [
        ("AbleToScale", "True", *DOWN_STABILIZED),
        ("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully "
         "calculate a replica count from cpu resource utilization (percentage of request)"),
        ("ScalingLimited", "False", *WITHIN_RANGE),
    ]
    for flags in (["--downscale-stabilization", "60s"],
                  ["--horizontal-pod-autoscaler-downscale-stabilization", "1m0s"]):
        d = decision(sidecar, tmp_path, V1_HPA, state, *flags)
        assert (d["stabilizedReplicas"], d["desiredReplicas"], d["rescale"]) == (2, 2, True)
        assert d["recordedScaleEvent"] is None
        assert conditions(d)[0] == ("AbleToScale", "True", "SucceededRescale",
                                    "the HPA controller was able to update the target scale "
                                    "to 2")


# ---- bad input ---------------------------------------------------------------------------

def web_hpa_with(change):
    doc = yaml.safe_load(WEB_HPA.read_text())
    change(doc)
    return yaml.safe_dump(doc)


@pytest.mark.parametrize("hpa,state,flags,message", [
    (web_hpa_with(lambda d: d["spec"]["metrics"][1].update(type="Foo")), None, [],
     'hpa.yaml: spec.metrics[1].type: unknown metric type "Foo"'),
    (web_hpa_with(lambda d: d["spec"]["metrics"][0]["pods"]["target"].update(averageValue="abc")),
     None, [], 'hpa.yaml: spec.metrics[0].pods.target.averageValue: "abc" is not a quantity'),
    (web_hpa_with(lambda d: d.update(apiVersion="autoscaling/v3")), None, [],
     'hpa.yaml: apiVersion: "autoscaling/v3" is not autoscaling/v1'),
    (web_hpa_with(lambda d: d["spec"].update(maxReplicas=1)), None, [],
     "hpa.yaml: spec.maxReplicas: 1 must be at least minReplicas (2)"),
    (None, '{"currentReplicas": 3}', [], "state.json: time: required"),
    (None, json.dumps(web_state(3, "x")), [],
     'state.json: metrics.pods.pulse_requests_per_second.web-0: "x" is not a quantity'),
    (None, json.dumps({**web_state(3, "60"), "pods": [{"name": "a"}, {"name": "b"},
                                                      {"name": "c", "phase": "Runing"}]}),
     [], 'state.json: pods[2].phase: "Runing" is not Pending'),
    (None, json.dumps({**web_state(3, "60"), "metrics": {"custom": {}}}), [],
     'state.json: metrics.custom: unknown metric type "custom"'),
    (None, "{", [], "state.json: not JSON"),
    (None, None, ["--tolerance", "-1"], '--tolerance: "-1" is not a number at least 0'),
    (None, None, ["--cpu-initialization-period", "five minutes"],
     '--cpu-initialization-period: "five minutes" is not a duration'),
])
def test_bad_input_exits_2_naming_the_field(sidecar, tmp_path, hpa, state, flags, message):
    code, out, err = decide(sidecar, tmp_path, hpa if hpa is not None else WEB_HPA.read_text(),
                            state if state is not None else web_state(3, "60"), *flags)
    assert code == 2, (out, err)
    assert out == ""
    assert message in err
    assert err.count("\n") <= 2, err  # one line (CLI11 adds "Run with --help" for flags)


def test_several_hpas_need_a_name(sidecar, tmp_path):
    code, _, err = decide(sidecar, tmp_path, WORKERS_HPA, workers_state(2, "450"))
    assert code == 2
    assert ('2 HorizontalPodAutoscalers ("workers-emails", "workers-thumbnails"): pick one by '
            'name (--hpa-name)') in err
    code, _, err = decide(sidecar, tmp_path, WORKERS_HPA, workers_state(2, "450"),
                          "--hpa-name", "workers-videos")
    assert code == 2
    assert 'no HorizontalPodAutoscaler named "workers-videos"' in err


def test_unreadable_files(sidecar, tmp_path):
    r = subprocess.run([str(sidecar), "hpa", "decide", "--hpa", str(tmp_path / "none.yaml"),
                        "--state", str(tmp_path / "none.json")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 2
    assert "--hpa " in r.stderr and "cannot be read" in r.stderr
    r = subprocess.run([str(sidecar), "hpa", "decide", "--state", str(tmp_path / "s.json")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 2
    assert "--hpa is required" in r.stderr


# ---- --batch -------------------------------------------------------------------------------

def test_batch_answers_every_line(sidecar):
    web = yaml.safe_load(WEB_HPA.read_text())
    (emails,) = [d for d in yaml.safe_load_all(WORKERS_HPA.read_text())
                 if d["metadata"]["name"] == "workers-emails"]
    bad = web_hpa_with(lambda d: d["spec"]["metrics"][1].update(type="Foo"))
    lines = [
        json.dumps({"id": "web", "hpa": web, "state": web_state(3, "60")}),
        "",
        json.dumps({"id": 2, "hpa": yaml.safe_load(bad), "state": web_state(3, "60")}),
        "{not json",
        json.dumps({"id": "state", "hpa": web, "state": {"currentReplicas": 3}}),
        # per-line options override the flags: the tolerance case of test_web_tolerance
        json.dumps({"id": "tolerance", "hpa": web, "state": web_state(3, "42"),
                    "options": {"tolerance": 0.01}}),
        json.dumps({"id": "options", "hpa": web, "state": web_state(3, "42"),
                    "options": {"tolerence": 0.01}}),
        json.dumps({"id": "emails", "hpa": emails,
                    "state": workers_state(2, "450",
                                           recommendations=[{"time": NOW - 100, "replicas": 2}]),
                    "options": {"downscaleStabilization": "1m0s"}}),
    ]
    r = subprocess.run([str(sidecar), "hpa", "decide", "--batch"], input="\n".join(lines) + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(answers) == 7  # the blank line is skipped
    assert answers[0]["id"] == "web"
    assert (answers[0]["desiredReplicas"], answers[0]["proposedReplicas"]) == (4, 5)
    assert answers[1] == {"id": 2, "error": 'hpa: spec.metrics[1].type: unknown metric type '
                                            '"Foo" (Resource, ContainerResource, Pods, Object '
                                            'or External)'}
    assert answers[2] == {"error": "not a JSON line"}
    assert answers[3] == {"id": "state", "error": "state: time: required"}
    assert answers[4]["desiredReplicas"] == 4
    assert answers[5]["id"] == "options"
    assert answers[5]["error"].startswith("options.tolerence: unknown option")
    assert (answers[6]["id"], answers[6]["desiredReplicas"]) == ("emails", 3)
    assert list(answers[0])[:2] == ["id", "desiredReplicas"]


def test_batch_refuses_files(sidecar):
    r = subprocess.run([str(sidecar), "hpa", "decide", "--batch", "--hpa", str(WEB_HPA)],
                       input="", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert "--batch" in r.stderr
