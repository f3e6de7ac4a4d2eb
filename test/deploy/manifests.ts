// Shared by the test/deploy/ tests: reading the manifests under deploy/, rendering the kustomize
// package with kubectl, validating each object against its schema (kubernetes-models for core
// kinds, @kubernetes-models/keda for KEDA, the stored KServe CRD schemas with ajv). The command
// line side is in serve-args.ts.

import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Ajv, type ValidateFunction } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SERVER_DIR = path.join(ROOT, 'deploy/kubernetes/server');
export const KSERVE_DIR = path.join(ROOT, 'deploy/kserve');
const KSERVE_SCHEMAS = path.join(ROOT, 'test/fixtures/kserve');

/** A Kubernetes object as parsed from YAML. */
export type KubeObject = Record<string, unknown> & { apiVersion?: string; kind?: string };

export interface YamlDoc {
  /** Path relative to the repository root. */
  file: string;
  object: KubeObject;
}

/** Every .yaml file under `dir`, recursively, sorted. */
export async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

export function parseDocs(text: string, file: string): YamlDoc[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file, object: d.toJS() as KubeObject };
  });
}

export async function readDocs(files: readonly string[]): Promise<YamlDoc[]> {
  const docs: YamlDoc[] = [];
  for (const f of files) docs.push(...parseDocs(await readFile(f, 'utf8'), path.relative(ROOT, f)));
  return docs;
}

const execFileP = promisify(execFile);

const rendered = new Map<string, Promise<KubeObject[]>>();

/** `kubectl kustomize dir`, parsed (once per folder); a clear error when kubectl is not installed. */
export function kustomize(dir: string): Promise<KubeObject[]> {
  let objects = rendered.get(dir);
  if (objects === undefined) rendered.set(dir, (objects = render(dir)));
  return objects;
}

async function render(dir: string): Promise<KubeObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP('kubectl', ['kustomize', dir], { maxBuffer: 16 << 20 }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(
        'kubectl is not on PATH: install kubectl (v1.27 or later; it has kustomize v5 built in, see ' +
          'https://kubernetes.io/docs/tasks/tools/) to render deploy/kubernetes/server with `kubectl kustomize`',
      );
    throw err;
  }
  return parseDocs(stdout, `kubectl kustomize ${path.relative(ROOT, dir)}`).map((d) => d.object);
}

// --- Schema validation ----------------------------------------------------------------------------

type Schema = Record<string, unknown>;

/**
 * Kubernetes rejects fields a structural schema does not name (kubectl's default --validate=strict);
 * JSON Schema allows them. Close every object schema that lists properties, unless it preserves
 * unknown fields; an embedded resource also has apiVersion, kind and metadata.
 */
function closeObjects(schema: Schema): Schema {
  const out = mapSubschemas(schema, closeObjects);
  if (out['x-kubernetes-embedded-resource'] === true)
    out.properties = {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      ...(out.properties as object),
    };
  if (
    out.properties !== undefined &&
    out['x-kubernetes-preserve-unknown-fields'] !== true &&
    out.additionalProperties === undefined
  )
    out.additionalProperties = false;
  // An int-or-string with no alternatives spelled out: say them.
  if (out['x-kubernetes-int-or-string'] === true && out.anyOf === undefined && out.type === undefined)
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  return out;
}

/** The subschemas of a schema node: what closeObjects and shareRepeats walk. */
function mapSubschemas(schema: Schema, f: (sub: Schema) => Schema): Schema {
  const out: Schema = { ...schema };
  if (out.properties !== undefined)
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, Schema>).map(([k, v]) => [k, f(v)]),
    );
  if (typeof out.additionalProperties === 'object') out.additionalProperties = f(out.additionalProperties as Schema);
  if (typeof out.items === 'object') out.items = f(out.items as Schema);
  for (const k of ['anyOf', 'allOf', 'oneOf'] as const) if (Array.isArray(out[k])) out[k] = (out[k] as Schema[]).map(f);
  if (typeof out.not === 'object') out.not = f(out.not as Schema);
  return out;
}

/**
 * The same schema, each subschema that occurs more than once (a PodSpec's containers and their
 * fields repeat in every component of an InferenceService) moved to `definitions` and referenced:
 * ajv then compiles it once. The InferenceService schema shrinks from 640 kB to about 70 kB and
 * compiles in a fraction of a second instead of several.
 */
function shareRepeats(root: Schema, minChars = 300): Schema {
  const text = JSON.stringify(root);
  if (text.includes('"$ref"') || text.includes('"$id"') || text.includes('"definitions"'))
    throw new Error('the schema already uses $ref, $id or definitions');
  const counts = new Map<string, number>();
  const count = (s: Schema): Schema => {
    const key = JSON.stringify(s);
    if (key.length >= minChars) counts.set(key, (counts.get(key) ?? 0) + 1);
    return mapSubschemas(s, count);
  };
  count(root);
  const definitions: Record<string, Schema> = {};
  const names = new Map<string, string>();
  const share = (s: Schema): Schema => {
    const key = JSON.stringify(s);
    if ((counts.get(key) ?? 0) < 2) return mapSubschemas(s, share);
    let name = names.get(key);
    if (name === undefined) {
      name = `s${names.size}`;
      names.set(key, name);
      definitions[name] = mapSubschemas(s, share);
    }
    return { $ref: `#/definitions/${name}` };
  };
  return { ...mapSubschemas(root, share), definitions };
}

function newAjv(): Ajv {
  // Without code optimisation: it costs more time than it saves on schemas this large.
  const ajv = new Ajv({
    allErrors: true,
    strictTypes: false,
    allowUnionTypes: true,
    inlineRefs: false,
    code: { optimize: false },
  });
  // Kubernetes' extensions: schema annotations for the API server, no constraint for JSON Schema,
  // except list-map keys, which must be unique (as the API server checks).
  ajv.addVocabulary([
    'x-kubernetes-int-or-string',
    'x-kubernetes-list-type',
    'x-kubernetes-map-type',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-embedded-resource',
  ]);
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-map-keys',
    type: 'array',
    schemaType: 'array',
    validate: (keys: string[], data: Record<string, unknown>[]) => {
      const seen = new Set(data.map((item) => JSON.stringify(keys.map((k) => item[k]))));
      return seen.size === data.length;
    },
  });
  // The formats of Kubernetes' OpenAPI schemas. An unknown one fails the compile (ajv's strict mode).
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  return ajv;
}

/** The stored KServe schema of a custom resource, as loaded (tests check what is in it). */
export async function kserveSchema(file: string): Promise<Schema> {
  return JSON.parse(await readFile(path.join(KSERVE_SCHEMAS, file), 'utf8')) as Schema;
}

let kserveValidators: Promise<Map<string, ValidateFunction>> | undefined;

function loadKServeValidators(): Promise<Map<string, ValidateFunction>> {
  kserveValidators ??= (async () => {
    const ajv = newAjv();
    const runtime = ajv.compile(
      shareRepeats(closeObjects(await kserveSchema('clusterservingruntimes.v1alpha1.schema.json'))),
    );
    const isvc = ajv.compile(shareRepeats(closeObjects(await kserveSchema('inferenceservices.v1beta1.schema.json'))));
    return new Map([
      ['serving.kserve.io/v1alpha1/ClusterServingRuntime', runtime],
      ['serving.kserve.io/v1alpha1/ServingRuntime', runtime],
      ['serving.kserve.io/v1beta1/InferenceService', isvc],
    ]);
  })();
  return kserveValidators;
}

// Loose on purpose: each class validates what it is given and reports what is wrong.
type ModelClass = new (data: never) => { validate(): void };
const MODELS: Record<string, ModelClass> = {
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The checks the API server makes of metadata that the models and CRD schemas leave open. */
function checkMetadata(object: KubeObject): void {
  const meta = object.metadata as Record<string, unknown> | undefined;
  const name = meta?.name;
  if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name))
    throw new Error(`metadata.name ${JSON.stringify(name)} is not a DNS subdomain`);
  for (const field of ['labels', 'annotations']) {
    for (const [k, v] of Object.entries((meta?.[field] ?? {}) as Record<string, unknown>))
      if (typeof v !== 'string') throw new Error(`metadata.${field}.${k} must be a string (quote it), not ${typeof v}`);
  }
}

/** Throws unless the object passes its kind's schema; unknown kinds throw too. */
export async function validateObject(object: KubeObject): Promise<void> {
  const key = `${object.apiVersion}/${object.kind}`;
  checkMetadata(object);
  const Model = MODELS[key];
  if (Model !== undefined) {
    new Model(object as never).validate();
    return;
  }
  const validate = (await loadKServeValidators()).get(key);
  if (validate === undefined) throw new Error(`no schema to validate ${key} against`);
  const name = String((object.metadata as { name?: unknown }).name);
  if (!validate(object))
    throw new Error(
      `${key} ${name}: ` +
        (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).join('; '),
    );
}
