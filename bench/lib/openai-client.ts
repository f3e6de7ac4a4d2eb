// The HTTP side of bench/openai-serve.ts: /v1/completions requests at a fixed concurrency, timed
// at the client as `vllm bench serve` does (TTFT to the first text, ITL between text chunks,
// end-to-end). Raw node:http on keep-alive sockets and a minimal SSE reader (split on the blank
// line, JSON.parse the event), so the client costs little. It runs in the bench's own process or,
// forked, in a process of its own (`--client process`), where its CPU is not the server's.

import http from 'node:http';

export interface Sample {
  ttftMs: number;
  e2eMs: number;
  tokens: number;
  itlMs: number[];
}

export interface ClientCase {
  readonly url: string;
  readonly prompts: readonly (readonly number[])[];
  readonly concurrency: number;
  readonly requests: number;
  readonly outputTokens: number;
  readonly stream: boolean;
}

export interface ClientResult {
  readonly samples: Sample[];
  readonly seconds: number;
}

const msSince = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;

interface CompletionChunk {
  choices: { text: string }[];
  usage?: { completion_tokens: number } | null;
}

/** One /v1/completions request, streamed or whole. */
function request(agent: http.Agent, url: URL, prompt: readonly number[], c: ClientCase): Promise<Sample> {
  const body = JSON.stringify({
    model: 'kjv-tiny',
    prompt,
    max_tokens: c.outputTokens,
    temperature: 0,
    ignore_eos: true,
    stream: c.stream,
    ...(c.stream ? { stream_options: { include_usage: true } } : {}),
  });
  const start = process.hrtime.bigint();
  const sample: Sample = { ttftMs: NaN, e2eMs: 0, tokens: 0, itlMs: [] };
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding('utf8');
        let buffered = '';
        let last = start;
        res.on('data', (text: string) => {
          buffered += text;
          if (!c.stream) return;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const event = buffered.slice(6, end); // after "data: "
            buffered = buffered.slice(end + 2);
            if (event === '[DONE]') continue;
            const chunk = JSON.parse(event) as CompletionChunk;
            if (chunk.usage != null) sample.tokens = chunk.usage.completion_tokens;
            if ((chunk.choices[0]?.text ?? '') === '') continue;
            const now = process.hrtime.bigint();
            if (Number.isNaN(sample.ttftMs)) sample.ttftMs = msSince(start);
            else sample.itlMs.push(Number(now - last) / 1e6);
            last = now;
          }
        });
        res.on('end', () => {
          sample.e2eMs = msSince(start);
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${buffered}`));
          if (!c.stream) {
            sample.tokens = (JSON.parse(buffered) as CompletionChunk).usage?.completion_tokens ?? 0;
            sample.ttftMs = sample.e2eMs;
          }
          resolve(sample);
        });
        res.on('error', reject);
      },
    );
    req.setNoDelay(true);
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `requests` requests, `concurrency` at a time, the prompts taken in turn. */
export async function runClientCase(c: ClientCase): Promise<ClientResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c.concurrency });
  const url = new URL('/v1/completions', c.url);
  const samples: Sample[] = [];
  let issued = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (issued < c.requests) {
      const prompt = c.prompts[issued++ % c.prompts.length] as readonly number[];
      samples.push(await request(agent, url, prompt, c));
    }
  };
  try {
    await Promise.all(Array.from({ length: c.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return { samples, seconds: msSince(start) / 1000 };
}

// Forked by the bench: each message is a case to run, each answer its result.
if (process.send !== undefined && process.argv[2] === '--child') {
  process.on('message', (c: ClientCase) => {
    runClientCase(c).then(
      (result) => process.send?.({ result }),
      (err: unknown) => process.send?.({ error: String(err) }),
    );
  });
}
