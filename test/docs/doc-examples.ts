// Every fenced code block of README.md and docs/*.md, and what the docs tests do with it: run it
// (test/docs/run-doc-examples.ts, `npm run test:docs`), check it (YAML that must parse), or skip
// it for a stated reason. A block that is in no entry of PLAN fails doc-blocks.test.ts, so a new
// example is either run or skipped on purpose.

import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface DocBlock {
  /** Path from the repository root, e.g. `docs/grpc.md`. */
  readonly file: string;
  /** Position among the file's fenced blocks, from 0. */
  readonly index: number;
  /** The info string after the opening fence (`sh`, `js`, `yaml`, or empty). */
  readonly lang: string;
  /** Line number of the opening fence, from 1. */
  readonly line: number;
  readonly body: string;
}

/**
 * What happens to a block. `sh`: run with `sh -e` in the scratch copy. `serve`: a command that
 * starts a server in the foreground; it runs in the background with port flags appended, and the
 * rest of its file's blocks talk to it. `js`: saved as `saveAs` in the scratch copy and run with
 * node. `yaml`: parsed. `skip`: not run, for the reason given.
 */
export type Plan =
  | {
      readonly do: 'sh' | 'js' | 'serve';
      readonly saveAs?: string;
      readonly tls?: boolean;
      /** mTLS: the client certificate and key (`<this>.pem`, `<this>.key`) the readiness probe shows. */
      readonly clientCert?: string;
      /** What the output must show, beyond the exit status 0. */
      readonly expect?: readonly RegExp[];
      /** The example shows a missing model on purpose (a typo), so "not found" is no failure. */
      readonly showsNotFound?: boolean;
    }
  | { readonly do: 'yaml' }
  | { readonly do: 'skip'; readonly why: string };

export interface PlanEntry {
  /** The block's first line starts with this, so that a block moved or inserted is noticed. */
  readonly starts: string;
  readonly plan: Plan;
}

const OUTPUT = { do: 'skip', why: 'output or a diagram, not a command' } as const;
const PODMAN = { do: 'skip', why: 'needs podman or docker and minutes to build an image' } as const;
const CLUSTER = { do: 'skip', why: 'needs a Kubernetes cluster' } as const;

/** Keyed by `file#index`. */
export const PLAN: Readonly<Record<string, PlanEntry>> = {
  'README.md#0': { starts: '# Install, build and serve', plan: { do: 'serve' } },
  'README.md#1': {
    starts: '# Install and run every check',
    plan: { do: 'skip', why: 'npm test itself, minutes long; the harness runs its format and lint checks' },
  },
  'README.md#2': { starts: '# Liveness and readiness', plan: { do: 'sh' } },
  'README.md#3': { starts: "echo '[[5.1, 3.5", plan: { do: 'sh' } },
  'README.md#4': { starts: '# A stateful stream', plan: { do: 'sh' } },
  'README.md#5': { starts: "printf 'id,sepal_length", plan: { do: 'sh' } },
  'README.md#6': { starts: 'node bin/inferd.js sql', plan: { do: 'sh' } },
  'README.md#7': { starts: '# With npm start running', plan: { do: 'sh' } },
  'README.md#8': { starts: '', plan: OUTPUT },
  'README.md#9': { starts: '', plan: { do: 'yaml' } },
  'README.md#10': { starts: '', plan: { do: 'yaml' } },
  'README.md#11': { starts: '', plan: OUTPUT },
  'README.md#12': {
    starts: '# A key with two scopes',
    plan: { do: 'sh', expect: [/needs an API key with scope 'read'/, /lacks the scope 'admin:repository'/] },
  },
  'README.md#13': {
    starts: '# The container image',
    plan: { do: 'skip', why: 'podman, kubectl and npm pack: npm run test:container and test:package run these' },
  },
  'README.md#14': { starts: 'node bin/inferd.js bench simple', plan: { do: 'sh' } },
  'README.md#15': { starts: '', plan: OUTPUT },
  'README.md#16': {
    starts: '# 9 in 10 calls of `flowers`',
    plan: { do: 'sh', expect: [/x-inferd-variant: (current|candidate)/i, /"labelled":1/] },
  },
  'README.md#17': {
    starts: 'ONNXRUNTIME_NODE_INSTALL=cuda12',
    plan: { do: 'skip', why: 'downloads CUDA, needs a GPU' },
  },
  'README.md#18': {
    starts: 'npm run typecheck',
    plan: { do: 'skip', why: 'the project scripts (minutes each); the harness runs format and lint' },
  },
  'docs/architecture.md#0': { starts: '', plan: OUTPUT },
  'docs/architecture.md#1': { starts: '', plan: OUTPUT },
  'docs/architecture.md#2': { starts: '', plan: OUTPUT },
  'docs/architecture.md#3': { starts: '', plan: OUTPUT },
  'docs/architecture.md#4': { starts: '', plan: OUTPUT },
  'docs/architecture.md#5': { starts: '', plan: OUTPUT },
  'docs/batch-api.md#0': {
    starts: "cat > /tmp/requests.jsonl <<'EOF'",
    plan: { do: 'sh', showsNotFound: true, expect: [/"custom_id":"sum-2","response":\{"status_code":200/] },
  },
  'docs/batch-api.md#1': { starts: '', plan: OUTPUT },
  'docs/batch-api.md#2': { starts: '', plan: OUTPUT },
  'docs/batch.md#0': {
    starts: '# Label Iris flowers from a CSV',
    plan: { do: 'skip', why: 'a pattern over your own flowers.csv; README.md#5 runs the same command' },
  },
  'docs/batch.md#1': { starts: '', plan: OUTPUT },
  'docs/batch.md#2': { starts: '', plan: { do: 'yaml' } },
  'docs/batch.md#3': {
    starts: 'for i in 0 1 2 3; do',
    plan: { do: 'skip', why: 'a pattern over your own models and features.parquet (a million rows)' },
  },
  'docs/batch.md#4': { starts: 'kubectl apply', plan: CLUSTER },
  'docs/container.md#0': { starts: 'docker build', plan: PODMAN },
  'docs/container.md#1': { starts: 'docker run', plan: PODMAN },
  'docs/container.md#2': { starts: 'podman run', plan: PODMAN },
  'docs/container.md#3': { starts: 'apt-get install', plan: PODMAN },
  'docs/generation.md#0': { starts: '', plan: { do: 'yaml' } },
  'docs/generation.md#1': { starts: 'task: text-generation', plan: { do: 'yaml' } },
  'docs/gpu.md#0': { starts: 'instance_group:', plan: { do: 'yaml' } },
  'docs/gpu.md#1': {
    starts: 'scripts/gpu/run-on-gpu.sh',
    plan: { do: 'skip', why: 'needs a GPU machine (and the CUDA download)' },
  },
  'docs/grpc.md#0': {
    starts: 'grpcurl',
    plan: { do: 'skip', why: 'needs grpcurl, not an npm package; the Node client below makes the same call' },
  },
  'docs/grpc.md#1': { starts: "import * as grpc from '@grpc/grpc-js';", plan: { do: 'js', saveAs: '.tmp/client.mjs' } },
  'docs/kubernetes.md#0': { starts: '# See what would be applied', plan: CLUSTER },
  'docs/kubernetes.md#1': { starts: 'kubectl run fill', plan: CLUSTER },
  'docs/kubernetes.md#2': { starts: '', plan: { do: 'yaml' } },
  'docs/kubernetes.md#3': { starts: '', plan: { do: 'yaml' } },
  'docs/kubernetes.md#4': { starts: 'helm upgrade', plan: CLUSTER },
  'docs/kubernetes.md#5': { starts: 'kubectl apply', plan: CLUSTER },
  'docs/kubernetes.md#6': { starts: 'kubectl apply', plan: CLUSTER },
  'docs/kubernetes.md#7': { starts: 'curl http://tiny-llm-predictor', plan: CLUSTER },
  'docs/monitoring.md#0': { starts: 'description: the retrained ranker', plan: { do: 'yaml' } },
  'docs/monitoring.md#1': { starts: 'variants:', plan: { do: 'yaml' } },
  'docs/monitoring.md#2': {
    starts: '# Trace every request of `simple`',
    plan: { do: 'sh', expect: [/"request_id":"c","timestamps":\[\{"name":"REQUEST_START"/, /"name":"COMPUTE_END"/] },
  },
  'docs/model-config.md#0': { starts: '', plan: { do: 'yaml' } },
  'docs/openai.md#0': { starts: '# A chat completion.', plan: { do: 'sh' } },
  'docs/openai.md#1': { starts: "import OpenAI from 'openai';", plan: { do: 'js', saveAs: '.tmp/openai.mjs' } },
  'docs/openai.md#2': {
    starts: '# Rank documents for a query',
    plan: {
      do: 'sh',
      expect: [
        /"results":\[\{"index":\d,"relevance_score":0\.\d+,"document":\{"text":"/,
        /^\[\{"index":\d,"score":-?\d[^,]*,"text":"/m,
        /"data":\[\{"index":0,"object":"score","score":0\.\d+\},\{"index":1,"object":"score"/,
      ],
    },
  },
  'docs/openai.md#3': { starts: '# A JSON object with the fields the schema asks for', plan: { do: 'sh' } },
  'docs/openai.md#4': {
    starts: "import OpenAI from 'openai';",
    plan: {
      do: 'js',
      saveAs: '.tmp/openai-tools.mjs',
      expect: [/tool_calls get_weather \{ city: '(Paris|Rome)' \}/, /^(stop|length) /m],
    },
  },
  'docs/openai.md#5': {
    starts: '# A response; its id continues',
    plan: {
      do: 'sh',
      expect: [
        /"object":"response","created_at":\d+,"status":"(completed|incomplete)"/,
        /"object":"list","data":\[\{"id":"msg_[0-9a-f]+","type":"message","role":"user"/,
        /"object":"response\.deleted","deleted":true/,
        /event: response\.created\ndata: \{"type":"response\.created","sequence_number":0/,
        /event: response\.(completed|incomplete)\n/,
      ],
    },
  },
  'docs/openai.md#6': {
    starts: "import OpenAI from 'openai';",
    plan: { do: 'js', saveAs: '.tmp/openai-responses.mjs', expect: [/^(completed|incomplete) /m] },
  },
  'docs/package.md#0': {
    starts: 'mkdir my-server',
    plan: { do: 'skip', why: 'needs a packed tarball; npm run test:package does this' },
  },
  'docs/package.md#1': { starts: 'ONNXRUNTIME_NODE_INSTALL=skip npm install', plan: { do: 'skip', why: 'as above' } },
  'docs/reliability.md#0': { starts: '', plan: OUTPUT },
  'docs/rollout.md#0': { starts: 'npm run bench:rollout', plan: { do: 'skip', why: 'a benchmark of minutes' } },
  'docs/rollout.md#1': {
    starts: 'node bin/inferd.js serve',
    plan: { do: 'skip', why: 'the command the rollout benchmark runs, with placeholder ports P and G' },
  },
  'docs/rollout.md#2': { starts: '', plan: { do: 'skip', why: 'an HAProxy config fragment' } },
  'docs/security.md#0': { starts: '', plan: { do: 'yaml' } },
  'docs/security.md#1': { starts: 'node bin/inferd.js keys create --id team-b', plan: { do: 'sh' } },
  'docs/security.md#2': { starts: '$ inferd keys create', plan: CLUSTER },
  'docs/sequences.md#0': { starts: '', plan: { do: 'yaml' } },
  'docs/sequences.md#1': { starts: '', plan: { do: 'yaml' } },
  'docs/sequences.md#2': { starts: '# The accumulator above', plan: { do: 'serve' } },
  'docs/sequences.md#3': {
    starts: 'curl -s localhost:8000/v2/models/accumulator',
    plan: { do: 'sh', expect: [/"name":"SUM","datatype":"INT32","shape":\[1,1\],"data":\[10\]/] },
  },
  'docs/sequences.md#4': { starts: '', plan: OUTPUT },
  'docs/sql.md#0': { starts: 'npm run build', plan: { do: 'sh' } },
  'docs/sql.md#1': { starts: '', plan: OUTPUT },
  'docs/sql.md#2': { starts: '', plan: OUTPUT },
  'docs/sql.md#3': { starts: '# Write a small CSV', plan: { do: 'sh' } },
  'docs/sql.md#4': { starts: '', plan: OUTPUT },
  'docs/sql.md#5': { starts: '# 10,000 rows', plan: { do: 'sh' } },
  'docs/streaming.md#0': { starts: '', plan: OUTPUT },
  'docs/streaming.md#1': { starts: '', plan: OUTPUT },
  'docs/streaming.md#2': { starts: '', plan: OUTPUT },
  'docs/streaming.md#3': { starts: '', plan: { do: 'yaml' } },
  'docs/streaming.md#4': { starts: '', plan: OUTPUT },
  'docs/streaming.md#5': { starts: 'node examples/clients/vad-stream.mjs', plan: { do: 'sh' } },
  'docs/streaming.md#6': { starts: '', plan: OUTPUT },
  'docs/streaming.md#7': { starts: "import { WebSocket } from 'ws';", plan: { do: 'js', saveAs: '.tmp/stream.mjs' } },
  'docs/tls.md#0': { starts: 'mkdir -p /tmp/inferd-tls', plan: { do: 'sh' } },
  'docs/tls.md#1': { starts: 'node bin/inferd.js serve', plan: { do: 'serve', tls: true } },
  'docs/tls.md#2': { starts: '', plan: OUTPUT },
  'docs/tls.md#3': { starts: 'curl --cacert', plan: { do: 'sh' } },
  'docs/tls.md#4': { starts: 'NODE_EXTRA_CA_CERTS=', plan: { do: 'sh' } },
  'docs/tls.md#5': {
    starts: "import { readFileSync } from 'node:fs';",
    plan: { do: 'js', saveAs: '.tmp/tls-client.mjs' },
  },
  'docs/tls.md#6': { starts: 'import tritonclient', plan: { do: 'skip', why: 'needs the Python tritonclient (pip)' } },
  'docs/tls.md#7': {
    starts: 'node bin/inferd.js serve',
    plan: { do: 'serve', tls: true, clientCert: '/tmp/inferd-tls/client' },
  },
  'docs/tls.md#8': { starts: 'curl --cacert', plan: { do: 'sh' } },
  'docs/tls.md#9': {
    starts: 'node bin/inferd.js serve',
    plan: { do: 'skip', why: 'two alternative servers, gRPC TLS only; the Node client above covers gRPC TLS' },
  },
  'docs/tls.md#10': { starts: 'node bin/inferd.js serve', plan: { do: 'serve' } },
  'docs/tls.md#11': { starts: 'curl -s -o /dev/null -D - -X OPTIONS', plan: { do: 'sh' } },
};

/** The documentation files whose blocks are planned: README.md, then docs/*.md by name. */
export async function docFiles(root = ROOT): Promise<string[]> {
  const docs = (await readdir(path.join(root, 'docs'))).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/** The fenced blocks of one Markdown file, in order. */
export function extractBlocks(file: string, text: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = text.split('\n');
  let open: { lang: string; line: number; indent: string; body: string[] } | undefined;
  lines.forEach((raw, i) => {
    const fence = /^(\s*)```(.*)$/.exec(raw);
    if (open === undefined) {
      if (fence) open = { lang: (fence[2] ?? '').trim(), line: i + 1, indent: fence[1] ?? '', body: [] };
      return;
    }
    if (fence && (fence[2] ?? '').trim() === '') {
      const body = open.body.map((l) => (l.startsWith(open!.indent) ? l.slice(open!.indent.length) : l));
      blocks.push({ file, index: blocks.length, lang: open.lang, line: open.line, body: body.join('\n') + '\n' });
      open = undefined;
      return;
    }
    open.body.push(raw);
  });
  return blocks;
}

/** Every block of every documentation file, in reading order. */
export async function allBlocks(root = ROOT): Promise<DocBlock[]> {
  const out: DocBlock[] = [];
  for (const file of await docFiles(root)) {
    out.push(...extractBlocks(file, await readFile(path.join(root, file), 'utf8')));
  }
  return out;
}

export function keyOf(block: DocBlock): string {
  return `${block.file}#${block.index}`;
}
