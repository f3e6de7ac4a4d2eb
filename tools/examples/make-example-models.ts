// Writes the example model repository from its recipes in example-models.ts.
//   node --import tsx tools/examples/make-example-models.ts [outDir]   (default: examples/models)

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exampleModels, type ExampleFile } from './example-models.js';

/** Writes `files` under `outDir`, creating folders as needed; existing files are overwritten. */
async function writeExampleFiles(outDir: string, files: readonly ExampleFile[]): Promise<void> {
  for (const file of files) {
    const target = join(outDir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.bytes);
  }
}

const outDir = process.argv[2] ?? 'examples/models';
const files = exampleModels();
await writeExampleFiles(outDir, files);
for (const file of files) {
  const size = typeof file.bytes === 'string' ? Buffer.byteLength(file.bytes) : file.bytes.byteLength;
  console.log(`${join(outDir, file.path)}  ${size} bytes`);
}
