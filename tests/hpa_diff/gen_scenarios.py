#!/usr/bin/env python3
"""Random but valid scenarios for the HPA differential test (tests/hpa_diff).

    gen_scenarios.py [--seed N] [--count N] OUT.jsonl

Each line is one `pulse-sidecar hpa decide --batch` input: {"hpa": <HPA object,
autoscaling/v2beta2 or v1>, "state": <STATE>, "options": {...}}. The same seed gives the
same file. The HPAs are ones the API server accepts (the Go harness validates each as a
create would and answers "invalid HPA" otherwise, which the test counts as a generator bug).

What is covered, on purpose and with boundaries hit exactly:
  - Resource cpu/memory, Utilization and AverageValue, 0-10 pods: unready, Pending, Failed,
    Succeeded, Unknown, being deleted, without a start time, missing metrics, metrics of
    pods the lister does not have, started within the CPU initialization period (and
    exactly at its end), Ready transitions around the metric's window (and exactly on
    it), never-ready pods against the initial readiness delay, containers without a request;
  - ContainerResource (alpha in 1.20 behind HPAContainerMetrics; the controller's code runs
    it without a gate, the harness validates with the gate on), on a container some pods
    do not have;
  - Pods AverageValue; Object Value/AverageValue; External Value/AverageValue, with and
    without metric selectors (matchLabels, matchExpressions: they appear in messages);
  - one to three metrics at once, some failing (no data, no ready pod with a metric, no pod);
  - usage ratios exactly at 1 +/- tolerance; tolerances 0 to 0.5;
  - without behavior (the downscale stabilization window and the 2x/4 scale-up limit) and
    with it: absent or partial rules (the API's defaults), windows, Min/Max/Disabled,
    Pods/Percent policies and periods, recommendations and scale events exactly on the
    windows' and periods' edges;
  - current replicas 0, below min, above max, status replicas different (and 0);
  - histories: none, the controller's first pass (the current count seeded at now, as
    recordInitialRecommendation does; decide takes the history as given), random ones;
  - autoscaling/v1 HPAs with and without targetCPUUtilizationPercentage.
"""
import argparse
import json
import random
from decimal import Decimal

NS = "default"


def milli(v):
    """A quantity string for a milli-value, in one of the forms people write."""
    v = int(v)
    if v % 1000 == 0 and v != 0:
        return str(v // 1000)
    return f"{v}m"


def decimal_text(d):
    text = format(d.normalize(), "f")
    return text


class Gen:
    def __init__(self, rng):
        self.r = rng

    def chance(self, p):
        return self.r.random() < p

    def pick(self, *options):
        return self.r.choice(options)

    def weighted(self, pairs):
        total = sum(w for _, w in pairs)
        x = self.r.uniform(0, total)
        for value, w in pairs:
            x -= w
            if x <= 0:
                return value
        return pairs[-1][0]

    # ---- quantities -------------------------------------------------------------------
    def quantity(self, v, exact=False):
        """A quantity string for about v milli-units, in the forms the metrics APIs and
        people write: 250m, 0.25, 250000000n (metrics-server's nanocores, here with a
        sub-milli rest that MilliValue() rounds up), 1024Ki, 25e-2, 1.5k. exact: the same
        milli-value, no sub-milli rest."""
        v = max(0, int(v))
        forms = [("m", 40), ("plain", 20), ("exp", 5)]
        if v % 1000 == 0:
            forms.append(("k", 4))
        if not exact:
            forms += [("n", 15), ("u", 5), ("frac", 3)]
            if v >= 1024000:
                forms.append(("Ki", 8))
        form = self.weighted(forms)
        if form == "plain":
            return decimal_text(Decimal(v) / 1000)
        if form == "exp":
            return f"{v}e-3"
        if form == "k":
            return decimal_text(Decimal(v) / 1000000) + "k"
        if form == "n":
            return f"{v * 1000000 + self.r.randint(0, 999999)}n"
        if form == "u":
            return f"{v * 1000 + self.r.randint(0, 999)}u"
        if form == "frac":
            return decimal_text(Decimal(v * 10 + self.r.randint(0, 9)) / 10000)
        if form == "Ki":
            return f"{round(v / 1024000)}Ki"
        return milli(v)

    # ---- options ----------------------------------------------------------------------
    def options(self):
        return {
            "tolerance": self.weighted([(0.1, 6), (0.0, 1), (0.05, 1), (0.2, 1), (0.5, 1)]),
            "cpuInitializationPeriod": self.weighted([(300, 6), (120, 1), (60, 1), (0, 1)]),
            "initialReadinessDelay": self.weighted([(30, 6), (10, 1), (0, 1), (90, 1)]),
            "downscaleStabilization": self.weighted([(300, 6), (0, 1), (60, 1), (600, 1)]),
        }

    # ---- behavior ---------------------------------------------------------------------
    def rules(self):
        rules = {}
        if self.chance(0.6):
            rules["stabilizationWindowSeconds"] = self.pick(0, 0, 15, 60, 120, 300, 600, 3600)
        if self.chance(0.6):
            rules["selectPolicy"] = self.weighted([("Max", 4), ("Min", 3), ("Disabled", 2)])
        if self.chance(0.65):
            policies = []
            for _ in range(self.r.randint(1, 3)):
                if self.chance(0.5):
                    policies.append({"type": "Pods", "value": self.r.randint(1, 6),
                                     "periodSeconds": self.period()})
                else:
                    policies.append({"type": "Percent", "value": self.pick(10, 25, 50, 100, 150, 200, 900),
                                     "periodSeconds": self.period()})
            rules["policies"] = policies
        return rules

    def period(self):
        return self.pick(1, 15, 15, 30, 60, 60, 120, 300, 600, 1800)

    def behavior(self):
        b = {}
        if self.chance(0.7):
            b["scaleUp"] = self.rules()
        if self.chance(0.7):
            b["scaleDown"] = self.rules()
        return b

    # ---- one scenario -----------------------------------------------------------------
    def scenario(self):
        r = self.r
        opts = self.options()
        now = r.randint(2000, 90000) + (0.5 if self.chance(0.05) else 0)
        v1 = self.chance(0.15)
        name = self.pick("web", "api", "workers-emails")
        target_kind = self.weighted([("Deployment", 8), ("ReplicaSet", 1), ("StatefulSet", 1)])

        min_r = None if self.chance(0.4) else r.randint(1, 5)
        lo = min_r or 1
        max_r = lo + self.weighted([(0, 1), (r.randint(1, 4), 3), (r.randint(5, 15), 3)])

        kind = self.weighted([("within", 70), ("zero", 7), ("below", 8), ("above", 8), ("one", 7)])
        if kind == "zero":
            current = 0
        elif kind == "below" and lo > 1:
            current = r.randint(1, lo - 1)
        elif kind == "above":
            current = max_r + r.randint(1, 4)
        elif kind == "one":
            current = 1
        else:
            current = r.randint(lo, max_r)

        state = {"time": now, "currentReplicas": current}
        if self.chance(0.15):
            state["statusReplicas"] = self.weighted([(0, 1), (max(0, current + r.randint(-2, 2)), 4)])
        status_replicas = state.get("statusReplicas", current)

        # the pods
        if current > 0 and self.chance(0.6):
            npods = min(current, 10)
        else:
            npods = self.weighted([(0, 1), (r.randint(1, 10), 12)])
        has_sidecar = self.chance(0.25)
        cpu_req = self.pick(100, 250, 500, 500, 1000, 1500, 2000)
        mem_req = self.pick(128, 256, 512, 1024) * 1024 * 1024 * 1000  # milli-bytes
        cpu_init = opts["cpuInitializationPeriod"]
        delay = opts["initialReadinessDelay"]
        metric_time = now - self.weighted([(0, 3), (r.randint(1, 60), 2), (r.randint(60, 300), 1)])
        window = self.weighted([(60, 5), (30, 1), (15, 1), (120, 1)])
        if metric_time != now:
            state["resourceMetricTime"] = metric_time
        if window != 60 or self.chance(0.3):
            state["resourceMetricWindow"] = window

        pods = []
        for i in range(npods):
            phase = self.weighted([("Running", 85), ("Pending", 6), ("Failed", 4), ("Succeeded", 3), ("Unknown", 2)])
            pod = {"name": f"{name}-{i}", "phase": phase}
            pod["ready"] = phase == "Running" and self.chance(0.88)
            pod["deleting"] = self.chance(0.05)
            if phase == "Pending" and self.chance(0.5) or self.chance(0.04):
                start = None
            else:
                age = self.weighted([
                    (r.randint(cpu_init + 1, cpu_init + 5000), 5),
                    (r.randint(0, max(cpu_init, 1)), 3),
                    (cpu_init, 1), (cpu_init + 1, 0.5), (max(cpu_init - 1, 0), 0.5)])
                start = now - age
                pod["startTime"] = start
            if start is not None:
                ready_since = self.weighted([
                    (start + r.randint(0, 60), 4),
                    (metric_time - window, 1), (metric_time - window + 1, 0.5),
                    (metric_time - window - 1, 0.5),
                    (metric_time - r.randint(0, 2 * window), 1),
                    (start + delay, 0.5), (start + delay - 1, 0.3), (start + delay + 1, 0.3),
                    (start + r.randint(0, max(1, now - start)), 1)])
                pod["readySince"] = min(ready_since, now)
            elif self.chance(0.5):
                pod["readySince"] = now - r.randint(0, 600)
            containers = [{"name": "app", "requests": {"cpu": milli(cpu_req), "memory": milli(mem_req)}}]
            if has_sidecar and self.chance(0.85):
                containers.append({"name": "sidecar", "requests": {"cpu": milli(self.pick(50, 100, 200)),
                                                                   "memory": "64Mi"}})
            if self.chance(0.02):
                del containers[-1]["requests"]["cpu"]  # a container without a CPU request
            if self.chance(0.01):
                containers[0]["requests"]["cpu"] = "0"
            if self.chance(0.1):
                containers[0]["requests"]["cpu"] = self.quantity(cpu_req, exact=True)
            if self.chance(0.01):
                containers = []  # requests sum to 0
            pod["containers"] = containers
            pods.append(pod)
        state["pods"] = pods

        # the metrics
        load = self.weighted([(r.uniform(0.05, 0.9), 3), (r.uniform(0.9, 1.1), 2), (r.uniform(1.1, 4), 3),
                              ("edge", 2), (10 ** r.randint(4, 10), 0.15)])  # the last: int32 overflows
        tol = opts["tolerance"]
        edge_factor = self.pick(1 + tol, 1 - tol, 1.0)

        def level(base):
            """A value around base x load (or exactly on the tolerance's edge), at most 1e15
            milli-units: MilliValue() fits an int64, and so do the controller's sums x 100
            over 10 pods (decide refuses quantities that would not fit)."""
            if load == "edge":
                return int(round(base * edge_factor))
            return min(10 ** 15, max(0, int(round(base * load * r.uniform(0.7, 1.3)))))

        metrics = {}
        specs = []
        pod_names = [p["name"] for p in pods]
        ghost_names = [f"{name}-gone-{k}" for k in range(r.randint(1, 2))] if self.chance(0.05) else []

        def per_pod(base, missing=0.08):
            values = {}
            for p in pod_names:
                if not self.chance(missing):
                    values[p] = self.quantity(level(base))
            for g in ghost_names:
                values[g] = self.quantity(level(base))
            if self.chance(0.04):
                values = {}  # no data at all
            return values

        nmetrics = self.weighted([(1, 5), (2, 3), (3, 2)])
        used = set()
        for k in range(nmetrics):
            mtype = self.weighted([("Resource", 5), ("ContainerResource", 1.5), ("Pods", 2), ("Object", 2),
                                   ("External", 2)])
            fail = self.chance(0.08)
            if mtype == "Resource":
                res = self.weighted([("cpu", 4), ("memory", 1)])
                req = cpu_req if res == "cpu" else mem_req
                if self.chance(0.65):
                    util = self.pick(20, 50, 60, 70, 80, 100, 120)
                    tgt = {"type": "Utilization", "averageUtilization": util}
                    base = req * util / 100
                else:
                    avg = self.pick(100, 200, 300, 500, 1000) if res == "cpu" else self.pick(100, 200) * 1024 * 1024 * 1000
                    tgt = {"type": "AverageValue", "averageValue": self.quantity(avg, exact=True)}
                    base = avg
                if ("resource", res) in used:
                    continue
                used.add(("resource", res))
                specs.append({"type": "Resource", "resource": {"name": res, "target": tgt}})
                if not fail:
                    metrics.setdefault("resource", {})[res] = per_pod(base)
            elif mtype == "ContainerResource":
                cont = self.weighted([("app", 3), ("sidecar", 1)])
                res = "cpu" if self.chance(0.8) else "memory"
                if self.chance(0.7):
                    util = self.pick(50, 60, 80, 100)
                    tgt = {"type": "Utilization", "averageUtilization": util}
                    base = (cpu_req if res == "cpu" else mem_req) * util / 100
                else:
                    avg = self.pick(100, 250, 500) if res == "cpu" else 100 * 1024 * 1024 * 1000
                    tgt = {"type": "AverageValue", "averageValue": self.quantity(avg, exact=True)}
                    base = avg
                if ("container", cont, res) in used:
                    continue
                used.add(("container", cont, res))
                specs.append({"type": "ContainerResource",
                              "containerResource": {"name": res, "container": cont, "target": tgt}})
                if not fail:
                    metrics.setdefault("containerResource", {})[f"{cont}/{res}"] = per_pod(base)
            elif mtype == "Pods":
                mname = self.pick("requests_per_second", "queue_depth", "latency_ms")
                if ("pods", mname) in used:
                    continue
                used.add(("pods", mname))
                avg = self.pick(1000, 10000, 20000, 500, 250000)
                spec = {"metric": {"name": mname}, "target": {"type": "AverageValue", "averageValue": self.quantity(avg, exact=True)}}
                if self.chance(0.2):
                    spec["metric"]["selector"] = {"matchLabels": {"verb": "GET"}}
                specs.append({"type": "Pods", "pods": spec})
                if not fail:
                    metrics.setdefault("pods", {})[mname] = per_pod(avg)
            elif mtype == "Object":
                mname = self.pick("jobs_waiting", "requests_total", "hits")
                if ("object", mname) in used:
                    continue
                used.add(("object", mname))
                obj = self.weighted([({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"}, 2),
                                     ({"apiVersion": "v1", "kind": "Service", "name": "redis"}, 2),
                                     ({"apiVersion": "apps/v1", "kind": "Deployment", "name": "redis"}, 1),
                                     ({"apiVersion": "example.com/v1", "kind": "Queue", "name": "emails"}, 1),
                                     ({"apiVersion": "v1", "kind": "Namespace", "name": NS}, 1)])
                target = self.pick(1000, 10000, 100000, 5000)
                spec = {"describedObject": obj, "metric": {"name": mname}}
                if self.chance(0.5):
                    spec["target"] = {"type": "Value", "value": self.quantity(target, exact=True)}
                    value = level(target)
                else:
                    spec["target"] = {"type": "AverageValue", "averageValue": self.quantity(target, exact=True)}
                    value = level(target * max(status_replicas, 1))
                spec["metric"].update(self.metric_selector())
                specs.append({"type": "Object", "object": spec})
                if not fail:
                    metrics.setdefault("object", {})[mname] = self.quantity(value)
            else:
                mname = self.pick("queue_messages_ready", "pubsub_undelivered", "sqs_visible")
                if ("external", mname) in used:
                    continue
                used.add(("external", mname))
                target = self.pick(1000, 30000, 100000, 8000)
                spec = {"metric": {"name": mname}}
                if self.chance(0.5):
                    spec["target"] = {"type": "Value", "value": self.quantity(target, exact=True)}
                    value = level(target)
                else:
                    spec["target"] = {"type": "AverageValue", "averageValue": self.quantity(target, exact=True)}
                    value = level(target * max(status_replicas, 1))
                spec["metric"].update(self.metric_selector())
                specs.append({"type": "External", "external": spec})
                if not fail:
                    metrics.setdefault("external", {})[mname] = self.quantity(value)
        state["metrics"] = metrics

        # the HPA
        meta = {"name": name, "namespace": NS}
        ref = {"apiVersion": "apps/v1", "kind": target_kind, "name": name}
        if v1:
            spec = {"scaleTargetRef": ref, "maxReplicas": max_r}
            if min_r is not None:
                spec["minReplicas"] = min_r
            if self.chance(0.6):
                spec["targetCPUUtilizationPercentage"] = self.pick(20, 50, 70, 80, 100)
            # v1 only has CPU utilization: give the pods CPU data for it
            util = spec.get("targetCPUUtilizationPercentage", 80)
            if not self.chance(0.06):
                metrics.setdefault("resource", {})["cpu"] = per_pod(cpu_req * util / 100)
            hpa = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": spec}
        else:
            spec = {"scaleTargetRef": ref, "maxReplicas": max_r}
            if min_r is not None:
                spec["minReplicas"] = min_r
            if specs or self.chance(0.5):
                spec["metrics"] = specs
            if not specs:  # the API's default: CPU at 80%
                metrics.setdefault("resource", {})["cpu"] = per_pod(cpu_req * 0.8)
            if self.chance(0.5):
                spec["behavior"] = self.behavior()
            hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": spec}

        # the controller's history, with entries exactly on the windows' and periods' edges
        windows = [opts["downscaleStabilization"]]
        periods = [15]
        for side in ("scaleUp", "scaleDown"):
            rules = hpa["spec"].get("behavior", {}).get(side, {})
            if "stabilizationWindowSeconds" in rules:
                windows.append(rules["stabilizationWindowSeconds"])
            periods += [p["periodSeconds"] for p in rules.get("policies", [])]
        history = self.weighted([("some", 70), ("first pass", 15), ("none", 15)])
        if history == "first pass":
            # what the controller's first pass over the HPA decides on: it has seeded its
            # recommendations with the current count at now (recordInitialRecommendation)
            state["recommendations"] = [{"time": now, "replicas": current}]
        elif history == "none":
            state["recommendations"] = []
        else:
            recs = []
            for _ in range(r.randint(1, 6)):
                age = self.weighted([(r.randint(1, 900), 4), (self.r.choice(windows), 2),
                                     (self.r.choice(windows) + 1, 1), (max(self.r.choice(windows) - 1, 1), 1)])
                recs.append({"time": now - max(age, 1),
                             "replicas": max(0, current + r.randint(-4, 4)) if current else r.randint(0, 6)})
            state["recommendations"] = recs
        for side in ("scaleUpEvents", "scaleDownEvents"):
            events = []
            if self.chance(0.5):
                for _ in range(r.randint(1, 4)):
                    age = self.weighted([(r.randint(0, 2000), 3), (self.r.choice(periods), 2),
                                         (self.r.choice(periods) + 1, 1), (max(self.r.choice(periods) - 1, 0), 1)])
                    events.append({"time": now - age, "change": r.randint(1, 6)})
            state[side] = events
        return {"hpa": hpa, "state": state, "options": opts}

    def metric_selector(self):
        x = self.r.random()
        if x < 0.5:
            return {}
        if x < 0.8:
            return {"selector": {"matchLabels": {"queue": self.pick("emails", "reports")}}}
        if x < 0.9:
            return {"selector": {"matchLabels": {"queue": "emails"},
                                 "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}]}}
        return {"selector": {"matchExpressions": [
            {"key": "env", "operator": self.pick("Exists", "DoesNotExist")},
            {"key": "tier", "operator": "NotIn", "values": ["batch"]}]}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20210113)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("out")
    args = ap.parse_args()
    gen = Gen(random.Random(args.seed))
    with open(args.out, "w") as f:
        for _ in range(args.count):
            f.write(json.dumps(gen.scenario(), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
