// Public surface of the tensor layer: datatypes, shapes, half-precision bits and the codecs.

export * from './datatype.js';
export * from './tensor.js';
export * from './shape.js';
export * from './half.js';
export * from './json-codec.js';
export * from './binary-codec.js';
export * from './npy.js';
export { describeValue } from './describe-value.js';
