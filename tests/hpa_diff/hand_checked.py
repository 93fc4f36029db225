"""Scenarios whose answers were worked out by hand from the controller's rules
(pkg/controller/podautoscaler/horizontal.go, replica_calculator.go of Kubernetes 1.20.2).

They check the Go harness itself (that the state reaches the controller as meant: the
clock, the pods' times and readiness, the history, the metrics' timestamps) before its
answers are trusted as the reference for `hpa decide`; and they go to decide as well.
CASES: (name, scenario, expected) with expected {"desiredReplicas": N, "conditions":
[(type, status, reason[, message]), ...]} in the controller's order.
"""

T = 1000  # state.time in every case


def hpa_v2(metrics=None, behavior=None, min_replicas=1, max_replicas=10):
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": min_replicas, "maxReplicas": max_replicas}
    if metrics is not None:
        spec["metrics"] = metrics
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def cpu_util(percent):
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": percent}}}


def pod(name, cpu="1", start=0, ready=True, ready_since=10, phase="Running"):
    return {"name": name, "phase": phase, "ready": ready, "deleting": False, "startTime": start,
            "readySince": ready_since, "containers": [{"name": "app", "requests": {"cpu": cpu}}]}


def scenario(hpa, current, pods, metrics, recommendations=(), up=(), down=(), **state):
    st = {"time": T, "currentReplicas": current, "pods": pods, "metrics": metrics,
          "recommendations": list(recommendations), "scaleUpEvents": list(up), "scaleDownEvents": list(down)}
    st.update(state)
    return {"hpa": hpa, "state": st,
            "options": {"tolerance": 0.1, "cpuInitializationPeriod": 300, "initialReadinessDelay": 30,
                        "downscaleStabilization": 300}}


VALID_CPU = ("ScalingActive", "True", "ValidMetricFound",
             "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)")
WITHIN = ("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range")
READY = ("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")


def rescaled(n):
    return ("AbleToScale", "True", "SucceededRescale", f"the HPA controller was able to update the target scale to {n}")


three_pods = [pod(f"web-{i}", cpu="500m") for i in range(3)]

CASES = [
    # 20% vs 50% on 3 pods: 2. The controller's first pass: it has seeded its history with
    # the current count at now, which holds the scale-down (the highest recent: 3).
    ("first pass: the seeded count holds a scale-down",
     scenario(hpa_v2([cpu_util(50)]), 3, three_pods, {"resource": {"cpu": {p["name"]: "100m" for p in three_pods}}},
              recommendations=[{"time": T, "replicas": 3}]),
     {"desiredReplicas": 3, "conditions": [
         ("AbleToScale", "True", "ScaleDownStabilized",
          "recent recommendations were higher than current one, applying the highest recent recommendation"),
         VALID_CPU, WITHIN]}),
    # The same with an empty history, taken as given (decide adds nothing): 2.
    ("an empty history is taken as given",
     scenario(hpa_v2([cpu_util(50)]), 3, three_pods, {"resource": {"cpu": {p["name"]: "100m" for p in three_pods}}}),
     {"desiredReplicas": 2, "conditions": [rescaled(2), VALID_CPU, WITHIN]}),
    # 3 pods at 100m of 500m = 20% vs 50%: ratio 0.4, ceil(0.4 x 3) = 2. The recommendation
    # of 4 at exactly now - 300 is inside the window (Before(cutoff) is strict): max 4.
    ("stabilization window includes its edge",
     scenario(hpa_v2([cpu_util(50)]), 3, three_pods, {"resource": {"cpu": {p["name"]: "100m" for p in three_pods}}},
              recommendations=[{"time": T - 300, "replicas": 4}]),
     {"desiredReplicas": 4, "conditions": [rescaled(4), VALID_CPU, WITHIN]}),
    # The same one second older: obsolete, the proposal 2 stands; the limit is
    # max(2 x 3, 4) = 6, 2 is within [1, 6].
    ("stabilization window excludes older",
     scenario(hpa_v2([cpu_util(50)]), 3, three_pods, {"resource": {"cpu": {p["name"]: "100m" for p in three_pods}}},
              recommendations=[{"time": T - 301, "replicas": 4}]),
     {"desiredReplicas": 2, "conditions": [rescaled(2), VALID_CPU, WITHIN]}),
    # web-a started 299 s ago (inside the 300 s CPU initialization period) and turned Ready
    # 59 s before the metric (window 60): its sample is not a full window after the
    # transition, so it is unready. web-b alone: 800m/1 = 80% vs 50% = 1.6 > 1, so the
    # unready pod counts as 0: (0 + 800) / 2000 = 40%, 0.8: the direction flips, keep 2;
    # 2 = 2, ReadyForNewScale.
    ("unready pod inside the CPU initialization period",
     scenario(hpa_v2([cpu_util(50)]), 2,
              [pod("web-a", start=T - 299, ready_since=T - 59), pod("web-b", start=0, ready_since=100)],
              {"resource": {"cpu": {"web-a": "900m", "web-b": "800m"}}}),
     {"desiredReplicas": 2, "conditions": [READY, VALID_CPU, WITHIN]}),
    # Ready exactly one window (60 s) before the metric: the sample counts (Before is
    # strict). (900 + 800) / 2000 = 85% vs 50%: 1.7, ceil(1.7 x 2) = 4; the scale-up limit
    # max(2 x 2, 4) = 4 allows it.
    ("ready exactly one metric window before the sample",
     scenario(hpa_v2([cpu_util(50)]), 2,
              [pod("web-a", start=T - 299, ready_since=T - 60), pod("web-b", start=0, ready_since=100)],
              {"resource": {"cpu": {"web-a": "900m", "web-b": "800m"}}}),
     {"desiredReplicas": 4, "conditions": [rescaled(4), VALID_CPU, WITHIN]}),
    # Started exactly 300 s ago: StartTime + 300 is not After(now), the pod is out of the
    # initialization period; Ready, so it counts even though it turned Ready 10 s ago.
    ("CPU initialization period ends exactly now",
     scenario(hpa_v2([cpu_util(50)]), 2,
              [pod("web-a", start=T - 300, ready_since=T - 10), pod("web-b", start=0, ready_since=100)],
              {"resource": {"cpu": {"web-a": "900m", "web-b": "800m"}}}),
     {"desiredReplicas": 4, "conditions": [rescaled(4), VALID_CPU, WITHIN]}),
    # Pods metric 30 vs 10 on 4 pods: ceil(3 x 4) = 12. scaleUp: Pods 2 per 60 s; of the
    # events only the one at now - 59 is After(now - 60): 1 added, so the period started
    # at 3 and allows 5. Window 0: no stabilization.
    ("scale-up policy counts events strictly inside the period",
     scenario(hpa_v2([{"type": "Pods", "pods": {"metric": {"name": "rps"},
                                                "target": {"type": "AverageValue", "averageValue": "10"}}}],
                     behavior={"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                                           "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}}),
              4, [pod(f"web-{i}") for i in range(4)], {"pods": {"rps": {f"web-{i}": "30" for i in range(4)}}},
              recommendations=[{"time": T - 100, "replicas": 3}],
              up=[{"time": T - 60, "change": 1}, {"time": T - 59, "change": 1}]),
     {"desiredReplicas": 5, "conditions": [
         rescaled(5),
         ("ScalingActive", "True", "ValidMetricFound",
          "the HPA was able to successfully calculate a replica count from pods metric rps"),
         ("ScalingLimited", "True", "ScaleUpLimit",
          "the desired replica count is increasing faster than the maximum scale rate")]}),
    # Object AverageValue 65 / 10 over 3 status replicas: 2.17, ceil(65 / 10) = 7; the
    # External metric has no data (one of two fails: the other decides). The limit
    # max(2 x 3, 4) = 6 caps 7. The metric's name in the message is the
    # controller's ("external metric" for an Object AverageValue, with the selector's %+v).
    ("object average value with a failing external metric",
     scenario(hpa_v2([{"type": "Object", "object": {
         "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "redis"},
         "metric": {"name": "jobs", "selector": {"matchLabels": {"queue": "emails"}}},
         "target": {"type": "AverageValue", "averageValue": "10"}}},
                      {"type": "External", "external": {"metric": {"name": "q"},
                                                        "target": {"type": "Value", "value": "5"}}}]),
              3, three_pods, {"object": {"jobs": "65"}}),
     {"desiredReplicas": 6, "conditions": [
         rescaled(6),
         ("ScalingActive", "True", "ValidMetricFound",
          "the HPA was able to successfully calculate a replica count from external metric "
          "jobs(&LabelSelector{MatchLabels:map[string]string{queue: emails,},MatchExpressions:[]LabelSelectorRequirement{},})"),
         ("ScalingLimited", "True", "ScaleUpLimit",
          "the desired replica count is increasing faster than the maximum scale rate")]}),
    # No CPU data at all: the only metric fails, nothing is scaled.
    ("the only metric fails",
     scenario(hpa_v2([cpu_util(50)]), 3, three_pods, {}),
     {"desiredReplicas": 3, "conditions": [
         ("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
         ("ScalingActive", "False", "FailedGetResourceMetric",
          "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics "
          "for resource cpu: no metrics returned from resource metrics API")]}),
    ("zero replicas disable scaling",
     scenario(hpa_v2([cpu_util(50)]), 0, [], {}),
     {"desiredReplicas": 0, "conditions": [
         ("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
         ("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")]}),
    ("above the maximum",
     scenario(hpa_v2([cpu_util(50)], max_replicas=10), 12, three_pods, {}),
     {"desiredReplicas": 10, "conditions": [rescaled(10)]}),
    # autoscaling/v1 without targetCPUUtilizationPercentage: 80%. 500m of 500m = 100%:
    # 1.25, ceil(1.25 x 2) = 3.
    ("autoscaling/v1 with the default CPU target",
     scenario({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "web", "namespace": "default"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                        "maxReplicas": 10}},
              2, three_pods[:2], {"resource": {"cpu": {"web-0": "500m", "web-1": "500m"}}}),
     {"desiredReplicas": 3, "conditions": [rescaled(3), VALID_CPU, WITHIN]}),
    # 10% of 500m over 5 pods vs 50%: 0.2, ceil(0.2 x 5) = 1. The old recommendation is
    # obsolete (the scale-down window is the flag's 300 s). scaleDown Disabled: the limit
    # is the current count, 5.
    ("scale-down disabled",
     scenario(hpa_v2([cpu_util(50)], behavior={"scaleDown": {"selectPolicy": "Disabled"}}),
              5, [pod(f"web-{i}", cpu="500m") for i in range(5)],
              {"resource": {"cpu": {f"web-{i}": "50m" for i in range(5)}}},
              recommendations=[{"time": T - 400, "replicas": 5}]),
     {"desiredReplicas": 5, "conditions": [READY, VALID_CPU, (
         "ScalingLimited", "True", "ScaleDownLimit",
         "the desired replica count is decreasing faster than the maximum scale rate")]}),
]
