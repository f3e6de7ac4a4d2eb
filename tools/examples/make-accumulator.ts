// Writes the accumulator of docs/sequences.md (a stateful model: SUM = running sum of INPUT per
// sequence) into a model repository, for trying the sequence batcher by hand. It is a test
// fixture (test/fixtures/stateful-models.ts), not one of the bundled example models.
//   node --import tsx tools/examples/make-accumulator.ts [outDir]   (default: .tmp/sequence-models)

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { accumulatorModel } from './stateful-models.js';

const outDir = process.argv[2] ?? '.tmp/sequence-models';
const files = accumulatorModel('accumulator', {
  sequenceConfig: `  max_sequence_idle_microseconds: 1000000
  oldest: { max_candidate_sequences: 64, preferred_batch_size: [], max_queue_delay_microseconds: 0 }
`,
});
for (const file of files) {
  const target = join(outDir, file.path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, file.bytes);
  console.log(target);
}
