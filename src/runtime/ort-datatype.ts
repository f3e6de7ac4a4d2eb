// Maps the protocol's datatypes to onnxruntime's tensor type names and back. BF16 has no
// onnxruntime-node tensor type, so models using it are refused at load with a clear reason.

import type { Datatype } from '../tensor/datatype.js';

const TO_ORT: Readonly<Record<Datatype, string | undefined>> = Object.freeze({
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
  BF16: undefined,
});

const FROM_ORT: ReadonlyMap<string, Datatype> = new Map(
  Object.entries(TO_ORT)
    .filter((e): e is [Datatype, string] => e[1] !== undefined)
    .map(([dt, ort]) => [ort, dt]),
);

export function ortTypeOf(datatype: Datatype): string | undefined {
  return TO_ORT[datatype];
}

export function datatypeFromOrt(ortType: string): Datatype | undefined {
  return FROM_ORT.get(ortType);
}
