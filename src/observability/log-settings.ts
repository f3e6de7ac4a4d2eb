// Triton's log settings (GET/POST /v2/logging) over the server's pino logger: log_info,
// log_warning, log_error and log_verbose_level choose the lowest level written (verbose > 0 is
// debug, as inferd has one verbose level); log_format is kept as given (the lines are JSON
// either way); log_file must stay empty, since inferd writes its log to stdout only.

import type { Logger } from './logger.js';

export interface LogSettings {
  readonly log_file: string;
  readonly log_info: boolean;
  readonly log_warning: boolean;
  readonly log_error: boolean;
  readonly log_verbose_level: number;
  readonly log_format: 'default' | 'ISO8601';
}

const BOOLEAN_KEYS = ['log_info', 'log_warning', 'log_error'] as const;
const KEYS: ReadonlySet<string> = new Set([
  'log_file',
  'log_info',
  'log_warning',
  'log_error',
  'log_verbose_level',
  'log_format',
]);

/** Why a settings update was refused; the edge answers it with 400. */
export class LogSettingsError extends Error {}

function levelOf(s: LogSettings): string {
  if (s.log_verbose_level > 0) return 'debug';
  if (s.log_info) return 'info';
  if (s.log_warning) return 'warn';
  if (s.log_error) return 'error';
  return 'silent';
}

export class LogControl {
  private settings: LogSettings;

  constructor(private readonly logger: Logger) {
    const level = logger.levelVal;
    this.settings = {
      log_file: '',
      log_info: level <= 30,
      log_warning: level <= 40,
      log_error: level <= 50,
      log_verbose_level: level <= 20 ? 1 : 0,
      log_format: 'default',
    };
  }

  get(): LogSettings {
    return this.settings;
  }

  /** Applies the given fields (each checked first; nothing changes if one is wrong). */
  update(body: unknown): LogSettings {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new LogSettingsError('the log settings must be a JSON object, e.g. {"log_verbose_level": 1}');
    const given = body as Record<string, unknown>;
    const unknown = Object.keys(given).filter((k) => !KEYS.has(k));
    if (unknown.length > 0)
      throw new LogSettingsError(
        `unknown log setting(s) ${unknown.map((k) => `'${k}'`).join(', ')}; the settings are ${[...KEYS].join(', ')}`,
      );
    const next: { -readonly [K in keyof LogSettings]: LogSettings[K] } = { ...this.settings };
    for (const key of BOOLEAN_KEYS) {
      const v = given[key];
      if (v === undefined) continue;
      if (typeof v !== 'boolean') throw new LogSettingsError(`'${key}' must be true or false`);
      next[key] = v;
    }
    const verbose = given.log_verbose_level;
    if (verbose !== undefined) {
      if (typeof verbose !== 'number' || !Number.isInteger(verbose) || verbose < 0)
        throw new LogSettingsError("'log_verbose_level' must be a non-negative integer");
      next.log_verbose_level = verbose;
    }
    const format = given.log_format;
    if (format !== undefined) {
      if (format !== 'default' && format !== 'ISO8601')
        throw new LogSettingsError("'log_format' must be 'default' or 'ISO8601'");
      next.log_format = format;
    }
    const file = given.log_file;
    if (file !== undefined) {
      if (typeof file !== 'string') throw new LogSettingsError("'log_file' must be a string");
      if (file !== '')
        throw new LogSettingsError(
          "inferd writes its log to stdout only; 'log_file' must be empty (redirect stdout, or let the container runtime collect it)",
        );
    }
    this.settings = next;
    this.logger.level = levelOf(next);
    return next;
  }
}
