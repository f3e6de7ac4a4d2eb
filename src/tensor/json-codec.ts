// The `data` field of KServe v2 JSON tensors, both directions: requests are decoded by
// json-decode.ts, responses encoded by json-encode.ts.

export * from './json-decode.js';
export * from './json-encode.js';
