// Argument parsers for commander options: each names the option and echoes the bad value.

import path from 'node:path';
import { InvalidArgumentError } from 'commander';

/** The example models shipped with the package: what the offline commands use when not given -m. */
export const BUNDLED_EXAMPLES_REPOSITORY = path.resolve(import.meta.dirname, '../../examples/models');

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`expected an integer, got '${value}'`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected ${min}..${max}, got ${n}`);
    return n;
  };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`expected a number of 0 or more, got '${value}'`);
  return n;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Sizes like 64MB, 512k or 1048576 (binary units). */
export function byteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined)
    throw new InvalidArgumentError(`expected a size such as 64MB, 512KB or 1048576, got '${value}'`);
  const n = Math.floor(Number(m[1]) * unit);
  if (n <= 0) throw new InvalidArgumentError(`size must be positive, got '${value}'`);
  return n;
}

/** A byte count the way byteSize reads it: in the largest unit that divides it (64MB, 512KB, 1000). */
export function sizeText(bytes: number): string {
  for (const unit of ['GB', 'MB', 'KB']) {
    const size = SIZE_UNITS[unit.toLowerCase()] ?? 1;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** A size as byteSize takes it, or 0 to turn the feature off. */
export function byteSizeOrZero(value: string): number {
  return value.trim() === '0' ? 0 : byteSize(value);
}

/** A port number, or 'off' to disable the listener. */
export function portOrOff(value: string): number | 'off' {
  if (value === 'off') return 'off';
  return integer(0, 65535)(value);
}

/** A listener's port as portOrOff gives it: the port, or 'off' for none (null). */
export function portOrOffValue(port: number | null): number | 'off' {
  return port ?? 'off';
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A fraction in (0, 1], e.g. 0.1 for 10%. */
export function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1)
    throw new InvalidArgumentError(`expected a fraction in (0, 1] such as 0.1, got '${value}'`);
  return n;
}
