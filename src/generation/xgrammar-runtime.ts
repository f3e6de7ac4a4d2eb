// The one place that touches @mlc-ai/web-xgrammar (xgrammar compiled to WebAssembly). The package's
// lib/index.js is a UMD bundle inside a `"type": "module"` package, so `import` yields nothing: it is
// evaluated here as the CommonJS module its UMD header expects.
//
// xgrammar's C++ reports bad input (an invalid regex, EBNF or schema) by logging a `[FATAL]` line to
// stderr and aborting the WebAssembly instance. The abort surfaces as a RuntimeError with no reason
// in it, and it leaves the instance's stack pointer and heap where the failed call left them: after
// a few thousand aborts the instance reads out of bounds. So each runtime captures its own stderr
// (the reason becomes the error's message) and counts as broken after one abort; its owner builds
// a fresh runtime for the next compile, and matchers already made keep using the old one.

import Module, { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as XgrammarModule from '@mlc-ai/web-xgrammar';

export type XgrammarLibrary = typeof XgrammarModule;
export type CompiledGrammar = XgrammarModule.CompiledGrammar;
export type GrammarCompiler = XgrammarModule.GrammarCompiler;
export type GrammarMatcher = XgrammarModule.GrammarMatcher;
export type TokenizerInfo = XgrammarModule.TokenizerInfo;

/** Node's CommonJS loader, as far as evaluating one file through it needs. */
interface CommonJsModule {
  filename: string;
  paths: string[];
  exports: unknown;
  _compile(source: string, filename: string): void;
}
interface CommonJsModuleClass {
  new (id: string): CommonJsModule;
  _nodeModulePaths(dir: string): string[];
}

/** A failure of the library on its input: the reason it logged, without its source-file prefix. */
export class XgrammarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XgrammarError';
  }
}

let librarySource: { file: string; source: string } | undefined;
/** Runtimes start one at a time: each binds the stderr sink current while it starts. */
let starting: Promise<unknown> = Promise.resolve();

export class XgrammarRuntime {
  /** True after an abort: the instance must not take new work. */
  broken = false;
  private capture: string[] | undefined;
  /** Calls run one after another, so a logged reason belongs to the call that logged it. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly lib: XgrammarLibrary) {}

  /** Evaluates a fresh copy of the library (its own WebAssembly instance) and starts it. */
  static async start(): Promise<XgrammarRuntime> {
    const run = starting.then(() => XgrammarRuntime.startOne());
    starting = run.catch(() => undefined);
    return run;
  }

  private static async startOne(): Promise<XgrammarRuntime> {
    if (librarySource === undefined) {
      const file = createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar');
      librarySource = { file, source: readFileSync(file, 'utf8') };
    }
    const { file, source } = librarySource;
    const Loader = Module as unknown as CommonJsModuleClass;
    const m = new Loader(file);
    m.filename = file;
    m.paths = Loader._nodeModulePaths(path.dirname(file));
    m._compile(source, file);
    const runtime = new XgrammarRuntime(m.exports as XgrammarLibrary);
    // Emscripten binds `console.log` and `console.error` when the instance starts (the first call
    // into it) and writes the C++ stdout and stderr through them: sinks in their place for that
    // moment give this runtime its own output, and the process's own are back right after.
    /* eslint-disable no-console -- the library's own output is captured, never written by the server */
    const processLog = console.log;
    const processError = console.error;
    const sink =
      (fallback: (...args: unknown[]) => void) =>
      (...args: unknown[]): void => {
        if (runtime.capture !== undefined) runtime.capture.push(args.map(String).join(' '));
        else fallback(...args);
      };
    console.log = sink(processLog);
    console.error = sink(processError);
    try {
      (await runtime.lib.Grammar.builtinJSONGrammar()).dispose();
    } finally {
      console.log = processLog;
      console.error = processError;
    }
    /* eslint-enable no-console */
    return runtime;
  }

  /**
   * Runs a call into the library; a failure becomes an XgrammarError carrying the reason the
   * library logged, and an abort marks this runtime broken.
   */
  call<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(() => this.callNow(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async callNow<T>(work: () => Promise<T> | T): Promise<T> {
    if (this.broken) throw new Error('this xgrammar runtime aborted before; start a new one');
    const lines: string[] = [];
    this.capture = lines;
    let result: T;
    try {
      result = await work();
    } catch (err) {
      // WebAssembly.RuntimeError: an abort (or a trap) inside the instance.
      if (err instanceof Error && err.name === 'RuntimeError') this.broken = true;
      const reason = lines.map(cleanLine).filter((l) => l !== '' && !/^Aborted\(.*\)$/.test(l));
      throw new XgrammarError(reason.length > 0 ? reason.join('; ') : (err as Error).message);
    } finally {
      this.capture = undefined;
    }
    // A warning means the library left part of the input unenforced (an allOf of several
    // schemas, a $ref outside the document): output could then break what was asked, so it is
    // refused instead.
    const warnings = lines.filter((l) => l.trimStart().startsWith('[WARNING]')).map(cleanLine);
    if (warnings.length > 0) throw new XgrammarError(warnings.join('; '));
    return result;
  }
}

/** `[FATAL] /path/to/file.cc:75: Check failed: (cond) is false: reason` → `reason`. */
function cleanLine(line: string): string {
  return line
    .trim()
    .replace(/^\[(FATAL|ERROR|WARNING)\]\s*\S+:\d+:\s*/, '')
    .replace(/^Check failed: \(.*?\) is false:\s*/, '')
    .trim();
}
