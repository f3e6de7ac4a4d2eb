// Triton's model_config fields that inferd's schema does not take as they are, given one verdict
// each before the schema runs, whatever the file format (config.pbtxt, YAML, JSON):
// - mapped: Triton's placement moved to inferd's (dynamic_batching.default_queue_policy,
//   priority_levels and default_priority_level into queue_policy; optimization.graph.level into
//   graph_level; parameters' {string_value} into the value; a sequence state's initial_state list);
//   giving a setting in both places with different values is an error;
// - warned: not implemented, and ignoring it changes no result (CUDA graphs, pinned
//   memory, metric tags...): the model loads, and the warning names the field;
// - refused: not implemented, and serving without it would behave differently (ensembles,
//   batch_input, decoupled models, other backends...): the model is UNAVAILABLE naming the field.
// A field set to Triton's default value is silent: Triton's own /config output lists them all.
// docs/model-config.md has the table.

import type { ConfigIssue } from './config-issues.js';
import { EXECUTION_PROVIDERS, MODEL_CONFIG_DEFAULTS } from './model-config-schema.js';

type Obj = Record<string, unknown>;

export interface TritonFieldsResult {
  /** The config with Triton's fields mapped or removed; what the schema then validates. */
  readonly value: Obj;
  readonly warnings: readonly ConfigIssue[];
  readonly errors: readonly ConfigIssue[];
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Unset, or Triton's default value for the field: false, 0, '', [], {} or an enum's zero value. */
function isDefault(v: unknown, zeroEnum?: string): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '' || v === zeroEnum) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObj(v)) return Object.values(v).every((x) => isDefault(x));
  return false;
}

class Verdicts {
  readonly warnings: ConfigIssue[] = [];
  readonly errors: ConfigIssue[] = [];
  constructor(private readonly file: string) {}

  /** Warns about `obj[key]` unless it is Triton's default, and removes it. */
  warn(obj: Obj, key: string, at: string, why: string, zeroEnum?: string): void {
    const v = obj[key];
    if (!isDefault(v, zeroEnum)) this.warnings.push({ file: this.file, field: join(at, key), reason: why });
    delete obj[key];
  }

  /** Refuses `obj[key]` unless it is Triton's default (then removes it). */
  refuse(obj: Obj, key: string, at: string, why: string, zeroEnum?: string): void {
    const v = obj[key];
    if (!isDefault(v, zeroEnum)) this.errors.push({ file: this.file, field: join(at, key), reason: why });
    delete obj[key];
  }

  error(field: string, reason: string): void {
    this.errors.push({ file: this.file, field, reason });
  }

  warning(field: string, reason: string): void {
    this.warnings.push({ file: this.file, field, reason });
  }
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

const UNSUPPORTED_BACKEND =
  'inferd serves ONNX models on onnxruntime only (platform onnxruntime_onnx, backend onnxruntime)';

/** Applies the verdicts to a config in Triton's JSON form (a copy; the input is not changed). */
export function applyTritonFields(raw: Obj, file: string): TritonFieldsResult {
  const c = structuredClone(raw);
  const v = new Verdicts(file);

  // The read-only block that /config reports; Triton's own `runtime` is a backend library name.
  if (typeof c['runtime'] === 'string') v.refuse(c, 'runtime', '', UNSUPPORTED_BACKEND);
  if (c['platform'] === '') delete c['platform'];
  if (c['backend'] === '') delete c['backend'];
  if (typeof c['platform'] === 'string' && c['platform'] !== 'onnxruntime_onnx')
    v.error('platform', `'${c['platform']}' is not supported: ${UNSUPPORTED_BACKEND}`);
  if (typeof c['backend'] === 'string' && c['backend'] !== 'onnxruntime')
    v.error('backend', `'${c['backend']}' is not supported: ${UNSUPPORTED_BACKEND}`);
  if (v.errors.length > 0) {
    delete c['platform'];
    delete c['backend'];
  }
  if (c['default_model_filename'] === '') delete c['default_model_filename'];

  v.refuse(c, 'ensemble_scheduling', '', 'ensembles are not supported; serve the steps as separate models');
  v.refuse(c, 'batch_input', '', 'batch inputs are not supported: the model would get inputs inferd does not make');
  v.refuse(c, 'batch_output', '', 'batch outputs are not supported: outputs would be split differently');
  v.refuse(c, 'model_operations', '', 'custom operator libraries are not loaded: the model would not run');
  v.refuse(c, 'model_repository_agents', '', 'repository agents are not supported: the model files would differ');
  if (isObj(c['model_transaction_policy']))
    v.refuse(
      c['model_transaction_policy'],
      'decoupled',
      'model_transaction_policy',
      'decoupled models (several responses per request) are not supported',
    );
  delete c['model_transaction_policy'];
  v.warn(c, 'cc_model_filenames', '', 'ignored: every GPU loads default_model_filename');
  v.warn(c, 'metric_tags', '', 'ignored: metrics carry the model and version labels only');
  v.warn(c, 'model_metrics', '', 'ignored: metric families and histogram buckets are fixed');

  if (isObj(c['parameters'])) {
    const params = c['parameters'];
    for (const [k, p] of Object.entries(params)) {
      if (isObj(p) && Object.keys(p).length === 1 && typeof p['string_value'] === 'string')
        params[k] = p['string_value'];
    }
  }

  for (const kind of ['input', 'output'] as const) {
    const list = c[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((t: unknown, i) => {
      if (!isObj(t)) return;
      const at = `${kind}[${i}]`;
      v.warn(t, 'format', at, 'ignored: an image layout hint inferd does not use', 'FORMAT_NONE');
      v.refuse(t, 'reshape', at, 'reshaping between the request and the model is not supported');
      v.refuse(t, 'is_shape_tensor', at, 'shape tensors are not supported');
      v.refuse(t, 'is_non_linear_format_io', at, 'non-linear tensor formats are not supported');
      if (kind === 'input') {
        v.refuse(t, 'allow_ragged_batch', at, 'ragged batches are not supported');
        v.refuse(t, 'optional', at, 'optional inputs are not supported: every input is required');
      }
    });
  }

  if (Array.isArray(c['instance_group'])) {
    c['instance_group'].forEach((g: unknown, i) => {
      if (!isObj(g)) return;
      const at = `instance_group[${i}]`;
      if (g['kind'] === 'KIND_MODEL') v.error(`${at}.kind`, 'KIND_MODEL is not supported: use KIND_CPU or KIND_GPU');
      v.refuse(g, 'passive', at, 'passive instances are not supported: every instance is scheduled');
      v.warn(g, 'rate_limiter', at, 'ignored: inferd has no rate limiter; an instance runs whenever it is free');
      v.warn(g, 'profile', at, 'ignored: TensorRT optimization profiles do not apply to onnxruntime');
      v.warn(g, 'secondary_devices', at, 'ignored: secondary devices are not used');
      v.warn(g, 'host_policy', at, 'ignored: host policies are not supported');
    });
  }

  if (isObj(c['optimization'])) applyOptimization(c['optimization'], v);
  if (isObj(c['dynamic_batching'])) applyDynamicBatching(c, c['dynamic_batching'], v);
  if (isObj(c['sequence_batching'])) applySequenceBatching(c['sequence_batching'], v);
  return { value: c, warnings: v.warnings, errors: v.errors };
}

/** Triton's onnxruntime backend reads graph.level as -1 basic, 1 extended, 0 all; -2 is inferd's disabled. */
const GRAPH_LEVELS: Readonly<Record<string, string>> = { '-2': 'disabled', '-1': 'basic', '0': 'all', '1': 'extended' };

function applyOptimization(o: Obj, v: Verdicts): void {
  const at = 'optimization';
  if (isObj(o['graph'])) {
    const level = JSON.stringify(o['graph']['level'] ?? 0);
    const name = GRAPH_LEVELS[level];
    if (name === undefined) v.error(`${at}.graph.level`, `is ${level}: use -1 (basic), 1 (extended) or 0 (all)`);
    else if (o['graph_level'] !== undefined && o['graph_level'] !== name)
      v.error(`${at}.graph.level`, `is ${level} (${name}), but graph_level is ${JSON.stringify(o['graph_level'])}`);
    else o['graph_level'] = name;
    delete o['graph'];
  }
  if (isObj(o['execution_accelerators'])) {
    const acc = o['execution_accelerators'];
    const names = [acc['gpu_execution_accelerator'], acc['cpu_execution_accelerator']]
      .flatMap((l): unknown[] => (Array.isArray(l) ? l : []))
      .map((a) => (isObj(a) ? JSON.stringify(a['name']).replace(/^"|"$/g, '') : ''));
    // inferd's own provider names (as its gRPC config reports them) say what execution_providers does.
    if (names.some((n) => !(EXECUTION_PROVIDERS as readonly string[]).includes(n)))
      v.warn(
        o,
        'execution_accelerators',
        at,
        `ignored (${names.join(', ')}): inferd runs on the providers of optimization.execution_providers`,
      );
    delete o['execution_accelerators'];
  }
  v.warn(o, 'priority', at, 'ignored: CUDA stream priorities do not apply', 'PRIORITY_DEFAULT');
  v.warn(o, 'cuda', at, 'ignored: CUDA graphs and streams are onnxruntime CUDA settings inferd does not set');
  for (const key of ['input_pinned_memory', 'output_pinned_memory']) {
    const p = o[key];
    if (isObj(p) && p['enable'] === false) v.warn(o, key, at, 'ignored: inferd does not pin host memory');
    delete o[key];
  }
  v.warn(o, 'gather_kernel_buffer_threshold', at, 'ignored: a GPU input-gathering setting inferd does not use');
  v.warn(o, 'eager_batching', at, 'ignored: a batch waits as dynamic_batching says');
}

/** Moves Triton's queue settings from dynamic_batching to inferd's queue_policy. */
function applyDynamicBatching(c: Obj, d: Obj, v: Verdicts): void {
  const at = 'dynamic_batching';
  v.warn(d, 'preserve_ordering', at, 'ignored: each request gets its own response, whichever finishes first');
  v.refuse(
    d,
    'priority_queue_policy',
    at,
    'per-priority queue policies are not supported: every level shares queue_policy',
  );
  const moved: Obj = {};
  if (d['priority_levels'] !== undefined) moved['priority_levels'] = d['priority_levels'];
  // Triton's default_priority_level is 0 when priorities are off; inferd's levels start at 1.
  if (d['default_priority_level'] !== undefined && d['default_priority_level'] !== 0)
    moved['default_priority_level'] = d['default_priority_level'];
  delete d['priority_levels'];
  delete d['default_priority_level'];
  const q = d['default_queue_policy'];
  delete d['default_queue_policy'];
  if (isObj(q)) {
    const qat = `${at}.default_queue_policy`;
    if (q['timeout_action'] === 'DELAY')
      v.error(`${qat}.timeout_action`, 'DELAY is not supported: a request that times out in the queue is rejected');
    if (q['max_queue_size'] === 0)
      v.warning(
        `${qat}.max_queue_size`,
        `0 (unbounded in Triton) is not supported: queues are bounded, at ${MODEL_CONFIG_DEFAULTS.queue_policy.max_queue_size} requests`,
      );
    else if (q['max_queue_size'] !== undefined) moved['max_queue_size'] = q['max_queue_size'];
    if (q['default_timeout_microseconds'] !== undefined)
      moved['default_timeout_microseconds'] = q['default_timeout_microseconds'];
    if (q['allow_timeout_override'] !== undefined) moved['allow_timeout_override'] = q['allow_timeout_override'];
  }
  if (Object.keys(moved).length === 0) return;
  const existing = isObj(c['queue_policy']) ? c['queue_policy'] : {};
  for (const [k, val] of Object.entries(moved)) {
    if (existing[k] !== undefined && existing[k] !== val)
      v.error(
        `queue_policy.${k}`,
        `is ${JSON.stringify(existing[k])}, but dynamic_batching gives ${JSON.stringify(val)}; give it in one place`,
      );
    existing[k] = val;
  }
  c['queue_policy'] = existing;
}

function applySequenceBatching(s: Obj, v: Verdicts): void {
  const at = 'sequence_batching';
  v.refuse(s, 'iterative_sequence', at, 'iterative sequences are not supported');
  if (isObj(s['oldest']))
    v.warn(s['oldest'], 'preserve_ordering', `${at}.oldest`, 'ignored: responses keep no order across sequences');
  if (isObj(s['direct']))
    v.warn(s['direct'], 'minimum_slot_utilization', `${at}.direct`, 'ignored: a batch runs once a slot has a request');
  if (!Array.isArray(s['state'])) return;
  s['state'].forEach((st: unknown, i) => {
    if (!isObj(st)) return;
    const sat = `${at}.state[${i}]`;
    v.warn(st, 'use_same_buffer_for_input_output', sat, 'ignored: a memory optimization inferd does not make');
    v.warn(st, 'use_growable_memory', sat, 'ignored: a memory optimization inferd does not make');
    let init = st['initial_state'];
    // Triton's initial_state is a list (of one); inferd's schema takes the one entry.
    if (Array.isArray(init)) {
      if (init.length > 1) v.error(`${sat}.initial_state`, 'give one initial state');
      init = init[0];
      if (init === undefined) delete st['initial_state'];
      else st['initial_state'] = init;
    }
    if (!isObj(init)) return;
    if (init['data_file'] !== undefined)
      v.error(`${sat}.initial_state.data_file`, 'initial state from a file is not supported: use zero_data');
    for (const key of ['data_type', 'dims'] as const) {
      if (init[key] === undefined) continue;
      if (JSON.stringify(init[key]) !== JSON.stringify(st[key]))
        v.error(`${sat}.initial_state.${key}`, `must equal the state's ${key}`);
      delete init[key];
    }
    delete init['data_file'];
  });
}
