// Model names are folder names in the repository; anything that could escape it is refused.

import { invalidArgument } from '../errors/index.js';

const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function isValidModelName(name: string): boolean {
  return MODEL_NAME.test(name) && !name.includes('..');
}

export function assertValidModelName(name: string): void {
  if (!isValidModelName(name)) {
    throw invalidArgument(
      `invalid model name ${JSON.stringify(name)}: names are 1-128 characters of letters, digits, '_', '-' and '.', without '..' or path separators`,
    );
  }
}

/** Versions are positive integers written in decimal, as folder names and in URLs. */
export function parseVersion(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : undefined;
}
