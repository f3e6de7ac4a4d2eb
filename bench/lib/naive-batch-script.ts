// The script a user would write instead of `inferd batch run`: readline over a JSON-lines file,
// JSON.parse per line, onnxruntime-node in batches of 1,024, one JSON line out per row with the
// row number, the id and the raw output (the same columns inferd writes). Prints its peak RSS and
// row count as one JSON line on stdout.
// Run: node --import tsx bench/lib/naive-batch-script.ts model.onnx in.jsonl out.jsonl [input] [column] [output]

import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import readline from 'node:readline';
import * as ort from 'onnxruntime-node';

const [
  modelPath = '',
  inputPath = '',
  outputPath = '',
  inputName = 'input',
  column = 'features',
  outputName = 'logits',
] = process.argv.slice(2);
const BATCH = 1024;

const session = await ort.InferenceSession.create(modelPath);
const out = createWriteStream(outputPath);
let rowNumber = 0;
let batch: { id: unknown; values: number[] }[] = [];

async function flush(): Promise<void> {
  const width = batch[0]?.values.length ?? 0;
  const data = new Float32Array(batch.length * width);
  batch.forEach((r, i) => data.set(r.values, i * width));
  const result = await session.run({ [inputName]: new ort.Tensor('float32', data, [batch.length, width]) });
  const y = result[outputName] as ort.Tensor;
  const k = (y.data as Float32Array).length / batch.length;
  let text = '';
  for (const [i, r] of batch.entries()) {
    const values = Array.from((y.data as Float32Array).subarray(i * k, (i + 1) * k));
    text += `${JSON.stringify({ row: rowNumber++, id: r.id, [outputName]: values })}\n`;
  }
  if (!out.write(text)) await new Promise((resolve) => out.once('drain', () => resolve(undefined)));
  batch = [];
}

for await (const line of readline.createInterface({ input: createReadStream(inputPath), crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  const row = JSON.parse(line) as Record<string, unknown>;
  batch.push({ id: row.id, values: row[column] as number[] });
  if (batch.length === BATCH) await flush();
}
if (batch.length > 0) await flush();
await new Promise((resolve) => out.end(() => resolve(undefined)));

// Peak RSS: the kernel's high-water mark (VmHWM) on Linux, else getrusage's.
const hwm = /^VmHWM:\s+(\d+) kB/m.exec(
  (() => {
    try {
      return readFileSync('/proc/self/status', 'utf8');
    } catch {
      return '';
    }
  })(),
);
const maxRssMiB = hwm !== null ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify({ rows: rowNumber, maxRssMiB })}\n`);
