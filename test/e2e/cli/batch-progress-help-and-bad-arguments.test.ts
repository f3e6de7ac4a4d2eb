// `inferd batch`: plain progress lines on a non-terminal stderr, silence with --quiet, a summary
// on stdout, help that documents the options, and clear messages for bad arguments.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeScratch, scratch, writeJsonLines } from '../../batch/batch-fixture.js';
import { runCli } from './run-cli.js';

describe('inferd batch on the command line', { concurrency: true }, () => {
  let dir = '';
  let input = '';
  const base = (): string[] => ['batch', 'run', '-m', 'examples/models', '--model', 'iris', '-i', input];

  before(async () => {
    dir = await scratch();
    input = path.join(dir, 'flowers.jsonl');
    await writeJsonLines(
      input,
      Array.from({ length: 300 }, (_, i) => ({ n: i, input: [5 + (i % 3), 3, 1 + (i % 5), 0.2] })),
    );
  });
  after(() => removeScratch(dir));

  it('prints progress lines on a non-terminal stderr and a summary on stdout', async () => {
    const out = path.join(dir, 'progress.jsonl');
    const r = await runCli([...base(), '-o', out, '--progress-interval', '0.001', '--batch-size', '8']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.length >= 2, r.stderr);
    for (const l of lines) assert.match(l, /^batch: \d+\/300 rows \(\d+\.\d%\), \d+ rows\/s, ETA \S+, 0 errors$/);
    assert.match(lines.at(-1) ?? '', /^batch: 300\/300 rows \(100\.0%\)/);
    assert.match(r.stdout, /model {6}iris version 1\nrows {7}300\nsucceeded {2}300\nerrors {5}0\n/);
    const summary = JSON.parse(await readFile(`${out}.summary.json`, 'utf8')) as Record<string, unknown>;
    assert.equal(summary.rows, 300);
    assert.equal(summary.model, 'iris');
    assert.equal(typeof summary.rowsPerSecond, 'number');
  });

  it('runs on the bundled example models when -m is not given, as inferd sql does', async () => {
    const r = await runCli([
      'batch',
      'run',
      '--model',
      'iris',
      '-i',
      input,
      '-o',
      path.join(dir, 'bundled.jsonl'),
      '-q',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = (await readFile(path.join(dir, 'bundled.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(rows.length, 300);
  });

  it('prints nothing with --quiet', async () => {
    const r = await runCli([...base(), '-o', path.join(dir, 'quiet.jsonl'), '--quiet', '--progress-interval', '0.001']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
  });

  it('documents every option in --help', async () => {
    const r = await runCli(['batch', 'run', '--help']);
    assert.equal(r.code, 0);
    const text = r.stdout.replace(/\s+/g, ' ');
    for (const m of [
      '--model-repository <path>',
      '--input <path>',
      '--output <path>',
      '--mapping <file>',
      '--map <input=columns>',
      '--id-column <name>',
      '--keep <output[:mode]>',
      '--batch-size <n>',
      '--max-errors <n>',
      '--shard-index <i>',
      '--shard-count <n>',
      '--overwrite',
      '--quiet',
      'Examples:',
    ])
      assert.ok(text.includes(m), `help lacks ${m}`);
    const merge = await runCli(['batch', 'merge', '--help']);
    assert.match(merge.stdout, /Usage: inferd batch merge \[options\] <parts\.\.\.>/);
  });

  const bad: [string, string[], RegExp][] = [
    [
      'a missing --output',
      ['batch', 'run', '-m', 'examples/models', '--model', 'iris', '-i', 'x.csv'],
      /required option '-o, --output <path>' not specified/,
    ],
    [
      'an unknown model',
      ['batch', 'run', '-m', 'examples/models', '--model', 'nope', '-i', '@IN', '-o', '@OUT'],
      /nope/,
    ],
    [
      'an input that does not exist',
      ['batch', 'run', '-m', 'examples/models', '--model', 'iris', '-i', '/no/such.csv', '-o', '@OUT'],
      /--input \/no\/such\.csv: no such file or folder/,
    ],
    [
      'an output with no known extension',
      ['batch', 'run', '-m', 'examples/models', '--model', 'iris', '-i', '@IN', '-o', 'out.txt'],
      /--output out\.txt: cannot tell the format/,
    ],
    [
      'an unmapped input',
      ['batch', 'run', '-m', 'examples/models', '--model', 'iris', '-i', '@IN', '-o', '@OUT', '--map', 'input=n'],
      /input 'input' takes 4 values per row \(FP32 \[4\]\), but column 'n' holds single BIGINT values/,
    ],
    [
      'an unknown output mode',
      [
        'batch',
        'run',
        '-m',
        'examples/models',
        '--model',
        'iris',
        '-i',
        '@IN',
        '-o',
        '@OUT',
        '--keep',
        'probabilities:best',
      ],
      /unknown output mode 'best': use raw, argmax, label or topk:N/,
    ],
    [
      'a batch size over max_batch_size',
      ['batch', 'run', '-m', 'examples/models', '--model', 'iris', '-i', '@IN', '-o', '@OUT', '--batch-size', '65'],
      /--batch-size 65 is over model 'iris' max_batch_size 64/,
    ],
    [
      'a shard index out of range',
      [
        'batch',
        'run',
        '-m',
        'examples/models',
        '--model',
        'iris',
        '-i',
        '@IN',
        '-o',
        '@OUT',
        '--shard-index',
        '3',
        '--shard-count',
        '3',
      ],
      /--shard-index 3 is out of range for --shard-count 3/,
    ],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what} with a clear message`, async () => {
      const r = await runCli(
        args.map((a) => (a === '@IN' ? input : a === '@OUT' ? path.join(dir, `bad-${what.length}.jsonl`) : a)),
      );
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, message);
    });
  }

  it('refuses an output inside the input folder (a rerun would read it as input)', async () => {
    const r = await runCli([
      'batch',
      'run',
      '-m',
      'examples/models',
      '--model',
      'iris',
      '-i',
      dir,
      '-o',
      path.join(dir, 'in-input.jsonl'),
    ]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /--output .*in-input\.jsonl is in the --input folder .*write it to another folder/);
  });

  it('refuses a mapping file with an unknown key, naming it', async () => {
    const mapping = path.join(dir, 'mapping.yaml');
    await writeFile(mapping, 'inputz:\n  input: [a, b]\n');
    const r = await runCli([...base(), '-o', path.join(dir, 'm.jsonl'), '--mapping', mapping]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--mapping .*mapping\.yaml: .*inputz.*\(expected keys id, inputs, outputs\)/);
  });
});
