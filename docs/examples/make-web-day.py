#!/usr/bin/python3
"""Writes web-day.csv: a day of a shop's traffic as `hpa simulate` reads it (time,metric,value),
the deployment's total requests per second and the p95 latency as Prometheus recorded them
every minute (sum(pulse_requests_per_second), max(pulse_request_duration_p95_seconds)).

The shape is a European web shop's weekday: quiet nights, a morning ramp, a lunch peak, an
evening peak, and a newsletter at 15:30 that brings a ten-minute burst. Deterministic (a
fixed seed), so the chart in docs/ is reproducible:

    docs/examples/make-web-day.py > docs/examples/web-day.csv
    pulse-sidecar hpa simulate --hpa conf/kubernetes/base/hpa.yaml \
        --trace docs/examples/web-day.csv --csv web-day-replicas.csv --svg docs/examples/web-day.svg
"""

import math
import random

DAY = 1795478400  # 2026-11-24 00:00 UTC, a Tuesday
rng = random.Random(20261124)


def bump(h, center, width, height):
    return height * math.exp(-((h - center) / width) ** 2)


print("time,metric,value")
for minute in range(24 * 60):
    h = minute / 60
    rps = (30 + bump(h, 12.5, 1.6, 330) + bump(h, 9.5, 1.8, 160) + bump(h, 16, 2.2, 220)
           + bump(h, 20.5, 1.7, 420))
    if 15.5 <= h < 15.5 + 10 / 60:  # the newsletter
        rps += 380 * (1 - (h - 15.5) * 6)
    rps *= 1 + rng.gauss(0, 0.05)
    # What the pods answered in: slower while the deployment caught up with a burst.
    p95 = 0.16 + 0.0002 * rps + (0.25 if 15.5 <= h < 15.5 + 6 / 60 else 0)
    p95 *= 1 + abs(rng.gauss(0, 0.08))
    t = DAY + minute * 60
    print(f"{t},pulse_requests_per_second,{rps:.2f}")
    print(f"{t},pulse_request_duration_p95_seconds,{p95:.3f}")
