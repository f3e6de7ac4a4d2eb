// Describes the machine a benchmark ran on, so that results from different hosts are never
// compared by mistake.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly onnxruntimeNode: string;
  readonly inferd: string;
}

function packageVersion(file: string): string {
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
}

export function describeMachine(repoRoot: string): MachineInfo {
  const require = createRequire(path.join(repoRoot, 'package.json'));
  // The package's "main" lives in dist/; its package.json is one folder up.
  const ortMain = require.resolve('onnxruntime-node');
  const ortPackage = path.join(path.dirname(ortMain), '..', 'package.json');
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntimeNode: packageVersion(ortPackage),
    inferd: packageVersion(path.join(repoRoot, 'package.json')),
  };
}
