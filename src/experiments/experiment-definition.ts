// An experiment: a name clients call like a model, routed among model versions (variants) by
// weight, optionally sticky by a request key, with shadow variants that get a copy of a share of
// the traffic, and an optional canary policy that moves the weights itself. Defined by an
// `experiment.yaml` (or .yml, .json) in its own repository folder, or through the admin API; both
// are checked by the one schema here and reported as file / field / reason.

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues, issuesFromZod, type ConfigIssue } from '../config/config-issues.js';
import { InferdError } from '../errors/index.js';
import { isValidModelName } from '../repository/model-name.js';

const name = z
  .string()
  .refine(isValidModelName, 'names are 1-128 characters of letters, digits, "_", "-" and ".", without ".."');

const variantSchema = z.strictObject({
  /** How responses, metrics and the status name it; defaults to `<model>` or `<model>:<version>`. */
  name: name.optional(),
  model: name,
  /** A fixed version; the model's highest serving version when left out. */
  version: z.number().int().positive().optional(),
  weight: z.number().nonnegative().max(1_000_000),
});

const shadowSchema = z.strictObject({
  name: name.optional(),
  model: name,
  version: z.number().int().positive().optional(),
  /** Share of the experiment's requests copied to this shadow, 0 to 1. */
  fraction: z.number().min(0).max(1),
});

const stickySchema = z
  .strictObject({
    /** HTTP header (gRPC metadata key) that carries the routing key. */
    header: z
      .string()
      .regex(/^[a-z0-9-]+$/i, 'a header name: letters, digits and "-"')
      .default('x-routing-key'),
  })
  .default({ header: 'x-routing-key' });

const canarySchema = z
  .strictObject({
    /** The variant traffic falls back to; the canary's weight is taken from it. */
    stable: name,
    canary: name,
    /** Percent of the pair's traffic the canary gains at each passed step. */
    step_weight: z.number().positive().max(100).default(10),
    /** Percent at which a passing canary is promoted (takes all of the pair's traffic). */
    max_weight: z.number().positive().max(100).default(50),
    /** Seconds between checks. */
    interval_seconds: z.number().positive().max(86_400).default(60),
    /** Canary requests a step needs before it is judged. */
    min_samples: z.number().int().min(10).max(10_000_000).default(1000),
    /** Looks at one step that may stay inconclusive before the canary is rolled back. */
    max_looks_per_step: z.number().int().min(1).max(100).default(3),
    /** Largest increase of the error rate (a share, 0.01 = one point) the canary may have. */
    max_error_rate_increase: z.number().min(0).max(1).default(0.01),
    /** Largest ratio of the canary's latency quantile to the stable one's; null = not checked. */
    max_latency_ratio: z.number().min(1).nullable().default(1.5),
    latency_quantile: z.number().gt(0.5).lt(1).default(0.99),
    /** Largest drop of accuracy (from feedback labels) the canary may have; null = not checked. */
    max_accuracy_decrease: z.number().min(0).max(1).nullable().default(null),
    /** Family-wise false-decision rate, split over every look of every step and metric (Bonferroni). */
    alpha: z.number().gt(0).lt(0.5).default(0.05),
  })
  .refine((c) => c.stable !== c.canary, { message: 'stable and canary must be two different variants' })
  .refine((c) => c.step_weight <= c.max_weight, { message: 'step_weight cannot exceed max_weight' });

export const experimentSchema = z.strictObject({
  description: z.string().max(10_000).optional(),
  variants: z.array(variantSchema).min(1).max(64),
  shadows: z.array(shadowSchema).max(8).default([]),
  sticky: stickySchema,
  canary: canarySchema.optional(),
  /** Shadow requests queued or running at once, beyond which copies are dropped (counted). */
  max_shadow_in_flight: z.number().int().min(1).max(10_000).default(16),
});

export type ExperimentSpec = z.output<typeof experimentSchema>;

export interface VariantDefinition {
  readonly name: string;
  readonly model: string;
  readonly version: number | undefined;
  readonly weight: number;
}

export interface ShadowDefinition {
  readonly name: string;
  readonly model: string;
  readonly version: number | undefined;
  readonly fraction: number;
}

export interface ExperimentDefinition {
  readonly name: string;
  /** Where it came from: the file's path, or `api`. */
  readonly source: string;
  readonly description: string | undefined;
  readonly variants: readonly VariantDefinition[];
  readonly shadows: readonly ShadowDefinition[];
  /** Header (gRPC metadata key) carrying the routing key; the `routing_key` request parameter also does. */
  readonly sticky: { readonly header: string };
  readonly canary: ExperimentSpec['canary'];
  readonly maxShadowInFlight: number;
}

export type Checked = { ok: true; value: ExperimentDefinition } | { ok: false; issues: ConfigIssue[] };

function defaultName(model: string, version: number | undefined): string {
  return version === undefined ? model : `${model}:${version}`;
}

/**
 * Checks a parsed definition: the schema, then what it names. `models` tells whether a model
 * folder of that name exists; `experiments` whether the name is another experiment.
 */
export function checkExperiment(
  experiment: string,
  source: string,
  raw: unknown,
  names: { isModel(name: string): boolean; isExperiment(name: string): boolean },
): Checked {
  const parsed = experimentSchema.safeParse(raw ?? {});
  if (!parsed.success) return { ok: false, issues: issuesFromZod(source, parsed.error) };
  const spec = parsed.data;
  const issues: ConfigIssue[] = [];
  const issue = (field: string, reason: string): void => void issues.push({ file: source, field, reason });
  if (names.isModel(experiment))
    issue('', `'${experiment}' is already a model's name: an experiment needs a name of its own`);
  const variants = spec.variants.map((v) => ({
    name: v.name ?? defaultName(v.model, v.version),
    model: v.model,
    version: v.version,
    weight: v.weight,
  }));
  const shadows = spec.shadows.map((s) => ({
    name: s.name ?? defaultName(s.model, s.version),
    model: s.model,
    version: s.version,
    fraction: s.fraction,
  }));
  const seen = new Set<string>();
  const checkTarget = (field: string, t: { name: string; model: string }): void => {
    if (seen.has(t.name)) issue(`${field}.name`, `the name '${t.name}' is used twice; give each variant its own name`);
    seen.add(t.name);
    if (t.model === experiment) issue(`${field}.model`, `the experiment routes to itself (a cycle)`);
    else if (names.isExperiment(t.model))
      issue(`${field}.model`, `'${t.model}' is an experiment: variants name models, so experiments cannot nest`);
    else if (!names.isModel(t.model)) issue(`${field}.model`, `no model '${t.model}' in the repository`);
  };
  variants.forEach((v, i) => checkTarget(`variants[${i}]`, v));
  shadows.forEach((s, i) => checkTarget(`shadows[${i}]`, s));
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  if (total <= 0) issue('variants', 'the weights sum to 0: at least one variant needs a positive weight');
  const canary = spec.canary;
  if (canary !== undefined) {
    const byName = new Map(variants.map((v) => [v.name, v]));
    for (const field of ['stable', 'canary'] as const)
      if (!byName.has(canary[field]))
        issue(`canary.${field}`, `no variant named '${canary[field]}' (variants: ${[...byName.keys()].join(', ')})`);
    if (variants.length !== 2)
      issue(
        'canary',
        `a canary experiment has exactly two variants, the stable one and the canary (has ${variants.length})`,
      );
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: {
      name: experiment,
      source,
      description: spec.description,
      variants,
      shadows,
      sticky: spec.sticky,
      canary: spec.canary,
      maxShadowInFlight: spec.max_shadow_in_flight,
    },
  };
}

/** Reads and parses an experiment file (YAML or JSON), as `checkExperiment` takes it. */
export async function readExperimentFile(
  file: string,
): Promise<{ ok: true; raw: unknown } | { ok: false; issues: ConfigIssue[] }> {
  try {
    const text = await readFile(file, 'utf8');
    return { ok: true, raw: file.endsWith('.json') ? JSON.parse(text) : parseYaml(text) };
  } catch (err) {
    return {
      ok: false,
      issues: [{ file, field: '', reason: `cannot parse: ${err instanceof Error ? err.message : String(err)}` }],
    };
  }
}

/** The 400 an API definition gets. */
export function definitionError(issues: readonly ConfigIssue[]): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', `invalid experiment: ${formatIssues(issues)}`);
}
