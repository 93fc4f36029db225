#include "status_page.h"

namespace pulse::sidecar {

namespace {

constexpr const char *kStyle = R"CSS(
:root { color-scheme: light; --fg: #1a1a1a; --muted: #555; --ok: #0b6b2e; --warn: #8a5a00;
  --bad: #a4161a; --line: #d0d0d0; --bg: #fff; --card: #f5f5f5; --spark: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
header, main { max-width: 60rem; margin: 0 auto; padding: 0.75rem 1rem; }
h1 { font-size: 1.3rem; margin: 0 0 0.5rem; }
h2 { font-size: 1.05rem; margin: 1.25rem 0 0.5rem; }
#state { padding: 0.6rem 0.8rem; border-radius: 0.4rem; font-weight: 600; }
#state.ok { background: #e3f4e8; color: var(--ok); }
#state.warn { background: #fff1d6; color: var(--warn); }
#state.bad { background: #fde2e2; color: var(--bad); }
.meta { color: var(--muted); font-size: 0.9rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); font-size: 0.9rem; padding-bottom: 0.25rem; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
svg.spark { width: 120px; height: 28px; display: block; }
svg.spark polyline { fill: none; stroke: var(--spark); stroke-width: 1.5; }
.bad { color: var(--bad); }
ul#errors { padding-left: 1.2rem; }
@media (max-width: 40rem) {
  body { font-size: 14px; }
  th, td { padding: 0.3rem 0.3rem; }
  svg.spark { width: 80px; }
  .wide { display: none; }
}
)CSS";

constexpr const char *kScript = R"JS(
"use strict";
const NAMES = {
  pulse_requests_per_second: ["requests", "/s"],
  pulse_requests_in_flight: ["in flight", ""],
  pulse_request_duration_p50_seconds: ["latency p50", "s"],
  pulse_request_duration_p95_seconds: ["latency p95", "s"],
  pulse_request_duration_p99_seconds: ["latency p99", "s"],
  pulse_upstream_duration_p95_seconds: ["upstream p95", "s"],
  pulse_error_ratio: ["5xx ratio", "%"],
  pulse_connection_saturation: ["connections used", "%"],
  pulse_websocket_connections: ["websocket sessions", ""],
};
let history = { times: [], series: {}, span_seconds: 3600, targets: {}, errors: [] };
let lastTime = 0;

function unitOf(name) {
  if (NAMES[name]) return NAMES[name][1];
  if (name.endsWith("_seconds")) return "s";
  if (name.endsWith("_ratio")) return "%";
  return "";
}

function format(name, v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const unit = unitOf(name);
  if (unit === "s") return v < 1 ? (v * 1000).toPrecision(3) + " ms" : v.toPrecision(3) + " s";
  if (unit === "%") return (v * 100).toFixed(1) + " %";
  const text = Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
  return unit ? text + " " + unit : text;
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function spark(key, label) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 120 28");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const values = history.series[key] || [];
  const points = [];
  const finite = values.filter((v) => v !== null && Number.isFinite(v));
  const lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 1;
  const range = hi - lo || 1;
  const t0 = history.times.length ? history.times[0] : 0;
  const t1 = history.times.length ? history.times[history.times.length - 1] : 1;
  const span = t1 - t0 || 1;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    const x = ((history.times[i] - t0) / span) * 118 + 1;
    const y = 27 - ((v - lo) / range) * 26;
    points.push(x.toFixed(1) + "," + y.toFixed(1));
  });
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  svg.appendChild(line);
  svg.setAttribute("data-points", String(points.length));
  svg.setAttribute("aria-label", finite.length
    ? label + ", last hour: from " + format(key.split("/").pop(), lo) + " to " +
      format(key.split("/").pop(), hi)
    : label + ": no history yet");
  return svg;
}

function valueCell(name, v, attrs) {
  const td = el("td", Object.assign({ class: "num", "data-signal": name }, attrs), format(name, v));
  if (v !== null && v !== undefined) td.setAttribute("data-value", String(v));
  return td;
}

function appendPoint(doc) {
  const t = doc.timestamp_unix;
  if (!t || t <= lastTime) return;
  lastTime = t;
  const add = (key, v) => {
    if (!history.series[key]) history.series[key] = history.times.map(() => null);
    history.series[key].push(Number.isFinite(v) && !doc.stale ? v : null);
  };
  history.times.push(t);
  const seen = new Set();
  for (const [name, v] of Object.entries(doc.pod || {})) { add("pod/" + name, v); seen.add("pod/" + name); }
  for (const [server, set] of Object.entries(doc.servers || {}))
    for (const [name, v] of Object.entries(set)) { add("server/" + server + "/" + name, v); seen.add("server/" + server + "/" + name); }
  for (const key of Object.keys(history.series)) if (!seen.has(key) && history.series[key].length < history.times.length) history.series[key].push(null);
  while (history.times.length && history.times[0] < t - history.span_seconds) {
    history.times.shift();
    for (const key of Object.keys(history.series)) history.series[key].shift();
  }
}

function renderState(doc, ready) {
  const state = document.getElementById("state");
  if (doc.draining) { state.className = "warn"; state.textContent = "Draining: leaving the Service, waiting for requests in flight"; }
  else if (ready.ok) { state.className = "ok"; state.textContent = "Ready"; }
  else { state.className = "bad"; state.textContent = "Not ready: " + ready.text.replace(/^not ready: /, "").trim(); }
  const meta = document.getElementById("meta");
  meta.textContent = "numbers from " + (doc.timestamp || "no scrape yet") +
    (doc.age_seconds !== null && doc.age_seconds !== undefined ? " (" + doc.age_seconds.toFixed(1) + " s ago)" : "") +
    " · window " + (doc.window_seconds || 0).toFixed(1) + " s · " + (doc.samples || 0) + " scrapes" +
    (doc.stale ? " · STALE" : "");
}

function renderPod(doc) {
  const body = document.getElementById("pod");
  body.replaceChildren();
  for (const [name, v] of Object.entries(doc.pod || {})) {
    const tr = el("tr");
    tr.appendChild(el("th", { scope: "row", title: name }, (NAMES[name] || [name])[0]));
    tr.appendChild(valueCell(name, doc.stale ? null : v, { "data-scope": "pod" }));
    const target = history.targets[name];
    tr.appendChild(el("td", { class: "num wide", "data-target": name }, target !== undefined ? format(name, target) : ""));
    const td = el("td");
    td.appendChild(spark("pod/" + name, (NAMES[name] || [name])[0]));
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function renderServers(doc) {
  const body = document.getElementById("servers");
  body.replaceChildren();
  const shown = ["pulse_requests_per_second", "pulse_requests_in_flight", "pulse_request_duration_p95_seconds", "pulse_error_ratio", "pulse_websocket_connections"];
  for (const [server, set] of Object.entries(doc.servers || {})) {
    const tr = el("tr");
    tr.appendChild(el("th", { scope: "row" }, server));
    for (const name of shown) tr.appendChild(valueCell(name, doc.stale ? null : set[name], { "data-server": server }));
    const td = el("td", { class: "wide" });
    td.appendChild(spark("server/" + server + "/pulse_requests_per_second", server + " requests"));
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function renderConfig(doc) {
  const section = document.getElementById("workers");
  const body = document.getElementById("config");
  body.replaceChildren();
  const signals = Object.entries(doc.config_signals || {});
  section.hidden = signals.length === 0;
  for (const [name, s] of signals) {
    if (!s.series || s.series.length === 0) {
      const tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, name));
      tr.appendChild(el("td", { class: "bad", colspan: "2", "data-absent": name }, "absent: " + (s.absent_reason || "no series")));
      body.appendChild(tr);
      continue;
    }
    for (const series of s.series) {
      const labels = Object.entries(series.labels || {}).map(([k, v]) => k + "=" + v).join(", ");
      const tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, name + (labels ? " {" + labels + "}" : "")));
      tr.appendChild(valueCell(name, s.stale ? null : series.value, { "data-config": name, "data-labels": labels }));
      const target = history.targets[name];
      tr.appendChild(el("td", { class: "num wide" }, target !== undefined ? format(name, target) : ""));
      body.appendChild(tr);
    }
  }
}

function renderSources(doc) {
  const body = document.getElementById("sources");
  body.replaceChildren();
  const row = (name, up, when, detail) => {
    const tr = el("tr");
    tr.appendChild(el("th", { scope: "row" }, name));
    tr.appendChild(el("td", up ? {} : { class: "bad" }, up ? "up" : "down"));
    tr.appendChild(el("td", { class: "wide" }, when || ""));
    tr.appendChild(el("td", {}, detail || ""));
    body.appendChild(tr);
  };
  row("nginx", !doc.stale, doc.timestamp, doc.last_error || "");
  for (const [name, s] of Object.entries(doc.sources || {}))
    row(name, s.up, s.last_scrape, s.last_error || (s.samples + " samples in " + (s.duration_seconds * 1000).toFixed(1) + " ms"));
}

function renderErrors(doc) {
  const list = document.getElementById("errors");
  list.replaceChildren();
  const errors = (history.errors || []).slice().reverse();
  if (doc.last_error && !errors.some((e) => e.error === doc.last_error)) errors.unshift({ time: doc.timestamp, error: doc.last_error });
  for (const e of errors) list.appendChild(el("li", {}, (e.time || "") + " " + e.error));
  if (!errors.length) list.appendChild(el("li", { class: "meta" }, "none"));
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

async function refresh() {
  try {
    const [doc, ready] = await Promise.all([
      getJSON("signals"),
      fetch("readyz", { cache: "no-store" }).then(async (r) => ({ ok: r.ok, text: await r.text() })),
    ]);
    appendPoint(doc);
    renderState(doc, ready);
    renderPod(doc);
    renderServers(doc);
    renderConfig(doc);
    renderSources(doc);
    renderErrors(doc);
    document.body.setAttribute("data-timestamp", String(doc.timestamp_unix || 0));
    document.getElementById("fetch-error").textContent = "";
  } catch (e) {
    document.getElementById("fetch-error").textContent = "The sidecar did not answer: " + e.message;
  }
}

async function start() {
  try {
    history = Object.assign(history, await getJSON("history"));
    if (history.times.length) lastTime = history.times[history.times.length - 1];
  } catch (e) {
    document.getElementById("fetch-error").textContent = "No history: " + e.message;
  }
  await refresh();
  document.body.setAttribute("data-loaded", "1");
  setInterval(refresh, 2000);
}

start();
)JS";

StatusPage make() {
    StatusPage p;
    p.style = kStyle;
    p.script = kScript;
    p.html = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pulse status</title>
<link rel="icon" href="data:,">
<style>)HTML" +
             p.style + R"HTML(</style>
</head>
<body>
<header>
<h1>pulse status</h1>
<p id="state" role="status" aria-live="polite">Loading…</p>
<p id="meta" class="meta"></p>
<p id="fetch-error" class="bad" role="alert"></p>
</header>
<main>
<h2 id="pod-title">This pod</h2>
<div class="scroll"><table aria-labelledby="pod-title">
<caption>Signals over the sidecar's window; targets are the HPA's, when given</caption>
<thead><tr><th scope="col">signal</th><th scope="col" class="num">now</th><th scope="col" class="num wide">target</th><th scope="col">last hour</th></tr></thead>
<tbody id="pod"></tbody></table></div>
<h2 id="servers-title">Servers</h2>
<div class="scroll"><table aria-labelledby="servers-title">
<thead><tr><th scope="col">server</th><th scope="col" class="num">requests</th><th scope="col" class="num">in flight</th><th scope="col" class="num">p95</th><th scope="col" class="num">5xx</th><th scope="col" class="num">websockets</th><th scope="col" class="wide">last hour</th></tr></thead>
<tbody id="servers"></tbody></table></div>
<section id="workers" hidden>
<h2 id="workers-title">Worker signals</h2>
<div class="scroll"><table aria-labelledby="workers-title">
<thead><tr><th scope="col">signal</th><th scope="col" class="num">now</th><th scope="col" class="num wide">target</th></tr></thead>
<tbody id="config"></tbody></table></div>
</section>
<h2 id="sources-title">Scrapes</h2>
<div class="scroll"><table aria-labelledby="sources-title">
<thead><tr><th scope="col">source</th><th scope="col">state</th><th scope="col" class="wide">last good</th><th scope="col">detail</th></tr></thead>
<tbody id="sources"></tbody></table></div>
<h2>Last errors</h2>
<ul id="errors"></ul>
</main>
<script>)HTML" +
             p.script + R"HTML(</script>
</body>
</html>
)HTML";
    return p;
}

}  // namespace

const StatusPage &status_page() {
    static const StatusPage page = make();
    return page;
}

}  // namespace pulse::sidecar
