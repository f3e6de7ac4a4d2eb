// Triton's trace settings (protocol extension "trace": GET/POST /v2[/models/{m}]/trace/setting):
// their values, how a POST body is read and checked, and their wire form. Triton answers every
// value as a string (trace_level as an array of strings) and reads a POST the same way; numbers
// are accepted too. A null clears a value: a model's back to the global one, a global one back to
// the value the server started with.

import { statSync } from 'node:fs';
import path from 'node:path';
import { InferdError, invalidArgument } from '../errors/index.js';
import { TRACE_LEVELS } from '../config/server-config.js';

export type TraceLevel = (typeof TRACE_LEVELS)[number];

export interface TraceSettings {
  /** Where traces are written ('' = nowhere; then the level must be OFF). */
  readonly traceFile: string;
  /** ['OFF'], or TIMESTAMPS and/or TENSORS. */
  readonly traceLevel: readonly TraceLevel[];
  /** One request in this many is traced. */
  readonly traceRate: number;
  /** Traces still to take; -1 = no end. */
  readonly traceCount: number;
  /** Traces per file (`<trace_file>.<n>`); 0 = one file, written at shutdown or when settings change. */
  readonly logFrequency: number;
}

/** The settings as Triton's API names and writes them. */
export interface TraceSettingsJson {
  readonly trace_file: string;
  readonly trace_level: readonly string[];
  readonly trace_rate: string;
  readonly trace_count: string;
  readonly log_frequency: string;
}

/** API name → field. */
const FIELDS = {
  trace_file: 'traceFile',
  trace_level: 'traceLevel',
  trace_rate: 'traceRate',
  trace_count: 'traceCount',
  log_frequency: 'logFrequency',
} as const satisfies Record<keyof TraceSettingsJson, keyof TraceSettings>;

export type TraceSettingName = keyof typeof FIELDS;
const NAMES = Object.keys(FIELDS) as TraceSettingName[];

/** A POST body read: each named setting is a new value, or null to clear it. */
export type TraceUpdate = { -readonly [K in keyof TraceSettings]?: TraceSettings[K] | null };

export function traceSettingsJson(s: TraceSettings): TraceSettingsJson {
  return {
    trace_file: s.traceFile,
    trace_level: [...s.traceLevel],
    trace_rate: String(s.traceRate),
    trace_count: String(s.traceCount),
    log_frequency: String(s.logFrequency),
  };
}

/** An integer setting, given as a JSON number or a decimal string (Triton's form). */
function integerSetting(name: TraceSettingName, value: unknown, min: number, meaning: string): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min)
    throw invalidArgument(`'${name}' must be ${meaning}, e.g. "${Math.max(min, 1)}"; got ${JSON.stringify(value)}`);
  return n;
}

function levelSetting(value: unknown): TraceLevel[] {
  const items = typeof value === 'string' ? [value] : value;
  const known: readonly string[] = TRACE_LEVELS;
  if (!Array.isArray(items) || items.length === 0 || !items.every((l) => typeof l === 'string' && known.includes(l)))
    throw invalidArgument(
      `'trace_level' must be a list of ${TRACE_LEVELS.join(', ')}, e.g. ["TIMESTAMPS"]; got ${JSON.stringify(value)}`,
    );
  const levels = [...new Set(items as TraceLevel[])];
  if (levels.includes('OFF') && levels.length > 1)
    throw invalidArgument(`'trace_level' OFF cannot be combined with ${levels.filter((l) => l !== 'OFF').join(', ')}`);
  return levels;
}

function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false; // missing, or a path through a file
  }
}

/**
 * The folder a trace file goes in must exist (traces are written into it later, when no client
 * is there to be told); `name` is the setting or flag the message names.
 */
export function checkTraceFolder(
  file: string,
  name: string,
  code: 'INF_ERR_INVALID_ARGUMENT' | 'INF_ERR_INVALID_CONFIG' = 'INF_ERR_INVALID_ARGUMENT',
): InferdError | undefined {
  if (file === '') return undefined;
  if (isFolder(file))
    return new InferdError(
      code,
      `'${name}': '${file}' is a folder; name a file in it, e.g. ${path.join(file, 'trace.json')}`,
    );
  const folder = path.dirname(path.resolve(file));
  if (isFolder(folder)) return undefined;
  return new InferdError(code, `'${name}': the folder ${folder} does not exist, so '${file}' cannot be written`);
}

/** Reads a POST body: an object of known settings, each valid or null. Throws a 400 naming the setting. */
export function parseTraceUpdate(body: unknown): TraceUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidArgument('the trace settings must be a JSON object, e.g. {"trace_level": ["TIMESTAMPS"]}');
  const given = body as Record<string, unknown>;
  const unknownNames = Object.keys(given).filter((k) => !(NAMES as string[]).includes(k));
  if (unknownNames.length > 0)
    throw invalidArgument(
      `unknown trace setting(s) ${unknownNames.map((k) => `'${k}'`).join(', ')}; the settings are ${NAMES.join(', ')}`,
    );
  const update: TraceUpdate = {};
  for (const name of NAMES) {
    if (!(name in given)) continue;
    const value = given[name];
    if (value === null) {
      update[FIELDS[name]] = null;
      continue;
    }
    switch (name) {
      case 'trace_file': {
        if (typeof value !== 'string') throw invalidArgument(`'trace_file' must be a string (a file path)`);
        const missing = checkTraceFolder(value, 'trace_file');
        if (missing !== undefined) throw missing;
        update.traceFile = value;
        break;
      }
      case 'trace_level':
        update.traceLevel = levelSetting(value);
        break;
      case 'trace_rate':
        update.traceRate = integerSetting(
          name,
          value,
          1,
          'an integer of 1 or more (one request in that many is traced)',
        );
        break;
      case 'trace_count':
        update.traceCount = integerSetting(name, value, -1, 'an integer of -1 (no end) or more');
        break;
      case 'log_frequency':
        update.logFrequency = integerSetting(name, value, 0, 'an integer of 0 (one file) or more');
        break;
    }
  }
  return update;
}

/** A setting that would trace with nowhere to write: the message, or undefined. */
export function missingTraceFile(s: TraceSettings, scope: string): string | undefined {
  if (s.traceLevel.includes('OFF') || s.traceFile !== '') return undefined;
  return `${scope} would trace at ${s.traceLevel.join(', ')} with no 'trace_file'; set 'trace_file' too`;
}
