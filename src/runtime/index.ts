// Public surface of the runtime: the only folder that touches onnxruntime-node.
export { ModelInstance, type InstanceMetadata, type RunResult } from './model-instance.js';
export { sessionOptionsFor, instanceCount } from './session-options.js';
export { datatypeFromOrt, ortTypeOf } from './ort-datatype.js';
export type { IoMetadata, RunTimings, SessionOptionsWire } from './worker-messages.js';
export { assertStringTensorCarriable } from './string-tensor.js';
