// The server's structured logger (pino): JSON lines (or pino-pretty's readable lines with
// --log-format pretty), one child per request carrying its id and model, so every line about a
// request can be found by that id.

import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** JSON lines for machines (the default), or pino-pretty's one readable line per entry for a terminal. */
export type LogFormat = 'json' | 'pretty';

export function createLogger(
  level: LevelWithSilent,
  destination?: NodeJS.WritableStream,
  format: LogFormat = 'json',
): Logger {
  const options = { level, base: { service: 'inferd' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'pretty')
    return pino(
      options,
      pretty({
        destination: destination ?? 1,
        // Colours only for a terminal; a file or pipe gets plain text.
        colorize: destination === undefined && process.stdout.isTTY,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
        sync: destination !== undefined,
      }),
    );
  return pino(options, destination ?? pino.destination({ fd: 1, sync: false }));
}
