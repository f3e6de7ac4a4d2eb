// The wire objects of the OpenAI Files and Batch APIs as inferd serves them
// (platform.openai.com/docs/api-reference/files, /batch), and the limits that apply to them.

export const BATCH_STATUSES = [
  'validating',
  'failed',
  'in_progress',
  'finalizing',
  'completed',
  'expired',
  'cancelling',
  'cancelled',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Statuses after which a batch never changes again. */
export const TERMINAL_STATUSES: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);

/** OpenAI's file purposes; inferd accepts uploads for `batch` and writes `batch_output`. */
export type FilePurpose = 'batch' | 'batch_output';

export interface FileObject {
  readonly id: string;
  readonly object: 'file';
  readonly bytes: number;
  /** Unix seconds. */
  readonly created_at: number;
  readonly filename: string;
  readonly purpose: FilePurpose;
  readonly status: 'processed';
  readonly status_details: null;
}

export interface BatchError {
  readonly code: string;
  readonly message: string;
  readonly param: string | null;
  /** 1-based line of the input file, when the error is about one line. */
  readonly line: number | null;
}

export interface BatchObject {
  readonly id: string;
  readonly object: 'batch';
  readonly endpoint: string;
  readonly errors: { readonly object: 'list'; readonly data: readonly BatchError[] } | null;
  readonly input_file_id: string;
  readonly completion_window: string;
  readonly status: BatchStatus;
  readonly output_file_id: string | null;
  readonly error_file_id: string | null;
  readonly created_at: number;
  readonly in_progress_at: number | null;
  readonly expires_at: number;
  readonly finalizing_at: number | null;
  readonly completed_at: number | null;
  readonly failed_at: number | null;
  readonly expired_at: number | null;
  readonly cancelling_at: number | null;
  readonly cancelled_at: number | null;
  readonly request_counts: { readonly total: number; readonly completed: number; readonly failed: number };
  readonly metadata: Readonly<Record<string, string>> | null;
}

/** One line of an output or error file. */
export interface OutputLine {
  readonly id: string;
  readonly custom_id: string;
  readonly response: { readonly status_code: number; readonly request_id: string; readonly body: unknown } | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** OpenAI's limits for one batch input file. */
export const MAX_LINES_PER_BATCH = 50_000;
export const DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024;
/** The only completion window OpenAI offers; inferd takes the same. */
export const COMPLETION_WINDOW = '24h';
export const COMPLETION_WINDOW_SECONDS = 24 * 60 * 60;
/** Validation stops listing line errors after this many (the count is still given). */
export const MAX_LISTED_LINE_ERRORS = 100;

/** Unix seconds now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
