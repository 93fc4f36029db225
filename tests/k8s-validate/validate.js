#!/usr/bin/env node
// pulse-k8s-validate: checks Kubernetes manifests (multi-document YAML) against the
// Kubernetes API schemas, with two checks per object:
//
//  1. schema: the object's JSON Schema from the npm package kubernetes-models (generated
//     from Kubernetes' OpenAPI definitions; compiled with ajv): types, required fields,
//     enums, formats, and that apiVersion/kind name a real Kubernetes API type;
//  2. strict: no unknown field anywhere (what `kubectl apply --validate=strict` and
//     the API server's strict field validation reject, and what a JSON Schema without
//     additionalProperties lets through): the object is type-checked by the TypeScript
//     compiler as a literal of the same package's interface for that kind, so every
//     excess property is an error, at any depth;
//  3. server: rules that kube-apiserver enforces but the OpenAPI schemas do not carry
//     (serverRules below: HPA behavior bounds, selector vs template labels, container
//     and port names, volume references, label syntax, the scope of cluster-wide kinds).
//     A hand-written subset, each rule named after the API server's check.
//
// Usage: node validate.js [--json [--objects]] FILE|- ...
// (--objects adds each parsed object to the JSON report, for callers without a YAML parser.)
// Prints one line per object (or one JSON report with --json) and exits 0 when every
// object passed both checks, 1 when any failed, 2 when the input could not be read.
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const ts = require("typescript");

const MODELS = "kubernetes-models";

function usage(message) {
  if (message) process.stderr.write(`pulse-k8s-validate: ${message}\n`);
  process.stderr.write("usage: node validate.js [--json] FILE|- ...\n");
  process.exit(2);
}

function readInput(name) {
  return name === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(name, "utf8");
}

// "apps/v1" -> "kubernetes-models/apps/v1", "v1" -> "kubernetes-models/v1"
function modulePath(apiVersion) {
  if (typeof apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) {
    return null;
  }
  return `${MODELS}/${apiVersion}`;
}

function loadModel(apiVersion, kind) {
  const mod = modulePath(apiVersion);
  if (!mod || typeof kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return null;
  try {
    // Each kind has its own module, e.g. kubernetes-models/apps/v1/Deployment.
    const m = require(`${mod}/${kind}`);
    if (typeof m[kind] !== "function") return null;
    return { cls: m[kind], typeModule: `${mod}/${kind}`, typeName: `I${kind}` };
  } catch (e) {
    if (e && (e.code === "MODULE_NOT_FOUND" || e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED")) return null;
    throw e;
  }
}

function parseDocuments(text, source) {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const objects = [];
  docs.forEach((doc, i) => {
    if (doc.errors && doc.errors.length) {
      const err = new Error(`${source}: YAML document ${i}: ${doc.errors.map((e) => e.message).join("; ")}`);
      err.exitCode = 2;
      throw err;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document ("---" at the end)
    objects.push({ source, index: objects.length, value });
  });
  return objects;
}

function describe(obj) {
  const v = obj.value || {};
  const md = (v && typeof v === "object" && v.metadata) || {};
  return {
    source: obj.source,
    index: obj.index,
    apiVersion: v.apiVersion,
    kind: v.kind,
    namespace: md.namespace,
    name: md.name,
  };
}

// Check 1: the JSON Schema of kubernetes-models (ajv).
function schemaCheck(obj) {
  const v = obj.value;
  if (!v || typeof v !== "object" || Array.isArray(v)) return ["document is not an object"];
  const model = loadModel(v.apiVersion, v.kind);
  if (!model) {
    return [`apiVersion ${JSON.stringify(v.apiVersion)} kind ${JSON.stringify(v.kind)} is not a Kubernetes API type known to ${MODELS}`];
  }
  obj.model = model;
  try {
    new model.cls(v).validate();
    return [];
  } catch (e) {
    return [`schema: ${e.message}`];
  }
}

// Check 3: a subset of kube-apiserver's validation (k8s.io/kubernetes pkg/apis/*/validation)
// that the OpenAPI schemas do not express.
const CLUSTER_SCOPED = new Set([
  "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
  "APIService", "CustomResourceDefinition", "StorageClass", "IngressClass", "RuntimeClass",
  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding", "CSIDriver", "CSINode", "VolumeAttachment",
  "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration", "PodSecurityPolicy",
  "ComponentStatus", "TokenReview", "SubjectAccessReview", "SelfSubjectAccessReview",
  "SelfSubjectRulesReview", "ClusterTrustBundle", "IPAddress", "ServiceCIDR",
  "VolumeAttributesClass", "DeviceClass",
]);
const POD_TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function labelErrors(labels, where) {
  const errors = [];
  for (const [k, v] of Object.entries(labels || {})) {
    const slash = k.lastIndexOf("/");
    const prefix = slash >= 0 ? k.slice(0, slash) : null;
    const name = slash >= 0 ? k.slice(slash + 1) : k;
    if ((prefix !== null && (!DNS_SUBDOMAIN.test(prefix) || prefix.length > 253)) || !LABEL_NAME.test(name) || name.length > 63) {
      errors.push(`${where}: invalid label key ${JSON.stringify(k)}`);
    }
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) {
      errors.push(`${where}: invalid label value ${JSON.stringify(v)} for ${k}`);
    }
  }
  return errors;
}

function portNameErrors(name, where) {
  if (typeof name !== "string") return [];
  if (name.length > 15 || !IANA_SVC_NAME.test(name)) {
    return [`${where}: port name ${JSON.stringify(name)} must be an IANA service name (at most 15 lowercase letters, digits and single hyphens, one letter at least)`];
  }
  return [];
}

function podSpecErrors(spec, where) {
  const errors = [];
  if (!spec || typeof spec !== "object") return errors;
  const init = spec.initContainers || [];
  const main = spec.containers || [];
  const volumes = new Set((spec.volumes || []).map((v) => v.name));
  const seen = new Set();
  const containers = [
    ...init.map((c, i) => [c, `${where}.initContainers[${i}]`, true]),
    ...main.map((c, i) => [c, `${where}.containers[${i}]`, false]),
  ];
  for (const [c, at, isInit] of containers) {
    if (!c || typeof c !== "object") continue;
    if (seen.has(c.name)) errors.push(`${at}.name: duplicate container name ${JSON.stringify(c.name)}`);
    seen.add(c.name);
    if (c.restartPolicy !== undefined && (!isInit || c.restartPolicy !== "Always")) {
      errors.push(`${at}.restartPolicy: only an init container may set it, and only to "Always"`);
    }
    if (isInit && c.restartPolicy !== "Always") {
      // A plain init container runs to completion: no lifecycle hooks, no probes.
      for (const f of ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"]) {
        if (c[f] !== undefined) errors.push(`${at}.${f}: may not be set for init containers without restartPolicy Always`);
      }
    }
    const portNames = new Set();
    (c.ports || []).forEach((p, i) => {
      if (p.name !== undefined) {
        errors.push(...portNameErrors(p.name, `${at}.ports[${i}].name`));
        if (portNames.has(p.name)) errors.push(`${at}.ports[${i}].name: duplicate ${JSON.stringify(p.name)}`);
        portNames.add(p.name);
      }
    });
    // The kubelet resolves a probe's or hook's named port in this container's own ports.
    const handlers = [
      ["livenessProbe", c.livenessProbe], ["readinessProbe", c.readinessProbe], ["startupProbe", c.startupProbe],
      ["lifecycle.preStop", c.lifecycle && c.lifecycle.preStop], ["lifecycle.postStart", c.lifecycle && c.lifecycle.postStart],
    ];
    for (const [name, h] of handlers) {
      if (!h) continue;
      const kinds = ["exec", "httpGet", "tcpSocket", "grpc", "sleep"].filter((k) => h[k] !== undefined);
      if (kinds.length !== 1) errors.push(`${at}.${name}: exactly one handler (exec, httpGet, tcpSocket, grpc, sleep) must be set`);
      for (const k of ["httpGet", "tcpSocket"]) {
        const port = h[k] && h[k].port;
        if (typeof port === "string" && !portNames.has(port)) {
          errors.push(`${at}.${name}.${k}.port: ${JSON.stringify(port)} is not a port name of this container`);
        }
        if (typeof port === "number" && (port < 1 || port > 65535)) errors.push(`${at}.${name}.${k}.port: out of range`);
      }
    }
    (c.volumeMounts || []).forEach((m, i) => {
      if (!volumes.has(m.name)) errors.push(`${at}.volumeMounts[${i}].name: volume ${JSON.stringify(m.name)} not found in the pod`);
    });
  }
  return errors;
}

function hpaErrors(spec) {
  const errors = [];
  if (!spec) return errors;
  if (spec.minReplicas !== undefined && spec.minReplicas < 1) errors.push("spec.minReplicas: must be at least 1");
  if (spec.minReplicas !== undefined && spec.maxReplicas < spec.minReplicas) errors.push("spec.maxReplicas: must be at least minReplicas");
  for (const dir of ["scaleUp", "scaleDown"]) {
    const rules = spec.behavior && spec.behavior[dir];
    if (!rules) continue;
    const at = `spec.behavior.${dir}`;
    const w = rules.stabilizationWindowSeconds;
    if (w !== undefined && (w < 0 || w > 3600)) errors.push(`${at}.stabilizationWindowSeconds: must be between 0 and 3600`);
    if (rules.policies !== undefined && rules.policies.length === 0) errors.push(`${at}.policies: must not be empty when set`);
    (rules.policies || []).forEach((p, i) => {
      if (!(p.periodSeconds > 0 && p.periodSeconds <= 1800)) errors.push(`${at}.policies[${i}].periodSeconds: must be greater than 0 and at most 1800`);
      if (!(p.value > 0)) errors.push(`${at}.policies[${i}].value: must be greater than 0`);
    });
  }
  return errors;
}

function serverRules(obj) {
  const v = obj.value;
  if (!obj.model || !v) return [];
  const errors = [];
  const md = v.metadata || {};
  if (CLUSTER_SCOPED.has(v.kind) && md.namespace !== undefined) {
    errors.push(`metadata.namespace: ${v.kind} is cluster-scoped and has no namespace`);
  }
  errors.push(...labelErrors(md.labels, "metadata.labels"));
  if (POD_TEMPLATE_KINDS.has(v.kind) && v.spec) {
    const tpl = v.spec.template || {};
    const tplLabels = (tpl.metadata && tpl.metadata.labels) || {};
    errors.push(...labelErrors(tplLabels, "spec.template.metadata.labels"));
    const sel = (v.spec.selector && v.spec.selector.matchLabels) || {};
    for (const [k, val] of Object.entries(sel)) {
      if (tplLabels[k] !== val) errors.push(`spec.template.metadata.labels: selector does not match template labels (${k}=${val})`);
    }
    errors.push(...podSpecErrors(tpl.spec, "spec.template.spec"));
  }
  if (v.kind === "Pod") errors.push(...podSpecErrors(v.spec, "spec"));
  if (v.kind === "HorizontalPodAutoscaler") errors.push(...hpaErrors(v.spec));
  if (v.kind === "PodDisruptionBudget" && v.spec && v.spec.minAvailable !== undefined && v.spec.maxUnavailable !== undefined) {
    errors.push("spec: minAvailable and maxUnavailable cannot both be set");
  }
  if (v.kind === "Service" && v.spec) {
    const ports = v.spec.ports || [];
    const names = new Set();
    ports.forEach((p, i) => {
      if (ports.length > 1 && !p.name) errors.push(`spec.ports[${i}].name: required when there is more than one port`);
      if (p.name && names.has(p.name)) errors.push(`spec.ports[${i}].name: duplicate ${JSON.stringify(p.name)}`);
      names.add(p.name);
      if (typeof p.targetPort === "string") errors.push(...portNameErrors(p.targetPort, `spec.ports[${i}].targetPort`));
    });
  }
  return errors.map((e) => `server: ${e}`);
}

// Check 2: unknown fields, by TypeScript's excess-property check against the same models.
function strictCheck(objects) {
  const checked = objects.filter((o) => o.model);
  if (!checked.length) return;
  const fileName = path.join(__dirname, "__pulse_k8s_validate_check__.ts");
  const imports = new Map();
  const spans = [];
  let body = "";
  checked.forEach((o, i) => {
    let alias = imports.get(o.model.typeModule);
    if (!alias) {
      alias = `T${imports.size}`;
      imports.set(o.model.typeModule, alias);
    }
    const head = `export const object${i}: ${alias} = `;
    const literal = JSON.stringify(o.value, null, 2);
    spans.push({ obj: o, start: body.length + head.length, end: body.length + head.length + literal.length });
    body += `${head}${literal};\n`;
  });
  let header = "";
  for (const [mod, alias] of imports) {
    const typeName = `I${mod.slice(mod.lastIndexOf("/") + 1)}`;
    header += `import type { ${typeName} as ${alias} } from ${JSON.stringify(mod)};\n`;
  }
  spans.forEach((s) => {
    s.start += header.length;
    s.end += header.length;
  });
  const text = header + body;

  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10 || ts.ModuleResolutionKind.NodeJs,
  };
  const host = ts.createCompilerHost(options, true);
  const sourceFile = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2020, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, ...rest) => (path.resolve(name) === fileName ? sourceFile : getSourceFile(name, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === fileName ? text : readFile(name));

  const program = ts.createProgram([fileName], options, host);
  const diagnostics = [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const span = d.start === undefined ? null : spans.find((s) => d.start >= s.start && d.start < s.end);
    if (!span) {
      // An import that did not resolve, or anything else outside an object: a broken
      // installation, not a broken manifest.
      const err = new Error(`type check setup failed: ${message}`);
      err.exitCode = 2;
      throw err;
    }
    const where = jsonPath(sourceFile, d.start);
    span.obj.errors.push(`strict: ${where ? `${where}: ` : ""}${message}`);
  }
}

// The JSON path of the property at pos in the generated literal, e.g. spec.template.spec.containers[0].foo
function jsonPath(sourceFile, pos) {
  let node = findNode(sourceFile, pos);
  const parts = [];
  while (node && !ts.isVariableDeclaration(node)) {
    const parent = node.parent;
    if (ts.isPropertyAssignment(node)) {
      parts.unshift(node.name.text !== undefined ? node.name.text : node.name.getText(sourceFile));
    } else if (parent && ts.isArrayLiteralExpression(parent)) {
      parts.unshift(`[${parent.elements.indexOf(node)}]`);
    }
    node = parent;
  }
  return parts.reduce((acc, p) => (p.startsWith("[") ? acc + p : acc ? `${acc}.${p}` : p), "");
}

function findNode(node, pos) {
  for (const child of node.getChildren()) {
    if (pos >= child.getStart() && pos < child.getEnd()) return findNode(child, pos);
  }
  return node;
}

function main(argv) {
  let json = false;
  let withObjects = false;
  const files = [];
  for (const a of argv) {
    if (a === "--json") json = true;
    else if (a === "--objects") withObjects = true;
    else if (a === "-h" || a === "--help") usage();
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else files.push(a);
  }
  if (!files.length) usage("no input");

  let objects = [];
  try {
    for (const f of files) objects = objects.concat(parseDocuments(readInput(f), f === "-" ? "<stdin>" : f));
  } catch (e) {
    process.stderr.write(`pulse-k8s-validate: ${e.message}\n`);
    process.exit(e.exitCode || 2);
  }
  for (const o of objects) o.errors = schemaCheck(o);
  for (const o of objects) o.errors.push(...serverRules(o));
  try {
    strictCheck(objects);
  } catch (e) {
    process.stderr.write(`pulse-k8s-validate: ${e.message}\n`);
    process.exit(e.exitCode || 2);
  }

  const report = objects.map((o) => ({ ...describe(o), errors: o.errors, ...(withObjects ? { object: o.value } : {}) }));
  const failed = report.filter((r) => r.errors.length).length;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ validator: versions(), objects: report, failed }, null, 2)}\n`,
    );
  } else {
    for (const r of report) {
      const id = `${r.source}#${r.index} ${r.apiVersion}/${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
      if (!r.errors.length) process.stdout.write(`ok      ${id}\n`);
      for (const e of r.errors) process.stdout.write(`INVALID ${id}: ${e}\n`);
    }
    process.stdout.write(`${report.length - failed} valid, ${failed} invalid\n`);
  }
  // Not process.exit(): a large report to a pipe is written asynchronously, and exit()
  // would cut it short.
  process.exitCode = failed ? 1 : 0;
}

function versions() {
  const v = (name) => {
    try {
      return require(`${name}/package.json`).version;
    } catch (e) {
      return null;
    }
  };
  return { node: process.version, [MODELS]: v(MODELS), typescript: ts.version, yaml: v("yaml") };
}

main(process.argv.slice(2));
