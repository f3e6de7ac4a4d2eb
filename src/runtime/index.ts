// Public surface of the runtime: the only folder that touches onnxruntime-node.
export { ModelInstance } from './model-instance.js';
export { InlineInstance } from './inline-instance.js';
export type { Instance, InstanceMetadata, RunResult } from './instance.js';
export { sessionOptionsFor, instanceCount, placeInstances } from './session-options.js';
export type { InstancePlan, Placement } from './session-options.js';
export { datatypeFromOrt, ortTypeOf } from './ort-datatype.js';
export type { IoMetadata, RunTimings, SessionOptionsWire } from './worker-messages.js';
export { assertStringTensorCarriable } from './string-tensor.js';
