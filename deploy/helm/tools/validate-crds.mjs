// Validates the chart's custom resources (rendered YAML on stdin) with the kubernetes-models
// validators of KEDA and prometheus-operator, plus a strict pass: a field that the resource's
// published types do not declare is an error (the generated validators accept unknown fields,
// an API server with strict field validation rejects them). Any kind that is not allow-listed
// here is an error too: tests/deploy/test_helm.py sends only what has no Kubernetes schema.
// Prints one JSON object {checked, problems}; exit 1 when there are problems.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
const modules = path.resolve(path.dirname(require.resolve("@kubernetes-models/keda/package.json")), "../..");
const root = path.join(modules, "@kubernetes-models");
const MODELS = {
  "keda.sh/v1alpha1/ScaledObject": "keda/keda.sh/v1alpha1/ScaledObject",
  "monitoring.coreos.com/v1/PodMonitor": "prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
  "monitoring.coreos.com/v1/PrometheusRule": "prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
};

// The first interface of a .d.ts file: its properties (name -> type text) and what it extends.
const interfaces = new Map();
function readInterface(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  const text = readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports.set(m[1], m[2]);
  const head = text.match(/export interface \w+(?: extends ([\w, ]+))? \{\n([\s\S]*?)\n\}/);
  const props = new Map();
  for (const m of (head ? head[2] : "").matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) props.set(m[1], m[2]);
  const parents = head && head[1] ? head[1].split(",").map((s) => s.trim()) : [];
  const info = { file, imports, props, parents };
  interfaces.set(file, info);
  for (const p of parents) for (const [k, v] of (resolve(info, p) ? readInterface(resolve(info, p)).props : [])) {
    if (!props.has(k)) props.set(k, v);
  }
  return info;
}

function resolve(info, typeName) {
  const spec = info.imports.get(typeName);
  if (!spec) return null;
  const base = spec.startsWith(".") ? path.resolve(path.dirname(info.file), spec) : path.join(modules, spec);
  return base.replace(/\.js$/, "") + ".d.ts";
}

function strict(value, info, where, problems) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const type = info.props.get(key);
    if (type === undefined) { problems.push(`${where}.${key}: unknown field`); continue; }
    checkType(child, type, info, `${where}.${key}`, problems);
  }
}

function checkType(value, type, info, where, problems) {
  const array = type.match(/^Array<(\w+)>$/);
  if (array && Array.isArray(value)) {
    value.forEach((v, i) => checkType(v, array[1], info, `${where}[${i}]`, problems));
    return;
  }
  const file = /^\w+$/.test(type) ? resolve(info, type) : null;
  if (file) strict(value, readInterface(file), where, problems);
}

async function main() {
  const problems = [];
  let checked = 0;
  for (const doc of parseAllDocuments(readFileSync(0, "utf8"))) {
    const obj = doc.toJS();
    if (!obj) continue;
    const id = `${obj.apiVersion}/${obj.kind}`;
    const name = `${obj.kind}/${obj.metadata?.name}`;
    const model = MODELS[id];
    if (!model) { problems.push(`${name}: ${id} has no schema here (not an allow-listed custom resource)`); continue; }
    const Model = (await import(`@kubernetes-models/${model}`))[obj.kind];
    try { new Model(obj).validate(); } catch (e) { problems.push(`${name}: ${e.message}`); }
    strict(obj, readInterface(path.join(root, `${model}.d.ts`)), name, problems);
    checked += 1;
  }
  process.stdout.write(JSON.stringify({ checked, problems }) + "\n");
  process.exitCode = problems.length ? 1 : 0;
}

await main();
