// A hand-written protobuf codec for the two messages on the hot path, ModelInferRequest (read) and
// ModelInferResponse (written), in the shapes proto-loader gives and takes with LOADER_OPTIONS
// (proto-definitions.ts): int64/uint64 as decimal strings, bytes as Buffer views into the received
// message (raw_input_contents are not copied), repeated fields and maps always present, absent
// scalars left out, InferParameter naming its member in `parameter_choice`. protobufjs decodes to
// its message classes and then converts them to plain objects; this reads straight into the plain
// objects in one pass. Field numbers: proto/grpc_service.proto (Triton's). Everything else keeps
// protobufjs.

import type {
  InferInputTensor,
  InferParameter,
  InferRequestedOutputTensor,
  InferTensorContents,
  ModelInferRequest,
  ModelInferResponse,
} from './wire-types.js';

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end: number = buf.length,
  ) {}

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      if (shift < 28) result |= (byte & 0x7f) << shift;
      else result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return shift < 28 ? result >>> 0 : result;
      shift += 7;
      if (shift > 63) throw new Error('varint longer than 10 bytes');
    }
  }

  /** A 64-bit varint as its decimal string, signed (int64) or not (uint64). */
  varint64(signed: boolean): string {
    let lo = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.byte();
      lo |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new Error('varint longer than 10 bytes');
    }
    return (signed ? BigInt.asIntN(64, lo) : BigInt.asUintN(64, lo)).toString();
  }

  byte(): number {
    if (this.pos >= this.end) throw new Error('message truncated');
    return this.buf[this.pos++] as number;
  }

  /** A length-delimited field's bytes as a view. */
  bytes(): Buffer {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new Error('message truncated');
    this.pos += length;
    return this.buf.subarray(start, start + length);
  }

  string(): string {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new Error('message truncated');
    this.pos += length;
    return this.buf.toString('utf8', start, start + length);
  }

  /** A reader over an embedded message. */
  sub(): Reader {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new Error('message truncated');
    this.pos += length;
    const r = new Reader(this.buf, start + length);
    r.pos = start;
    return r;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new Error('message truncated');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  float(): number {
    if (this.pos + 4 > this.end) throw new Error('message truncated');
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint64(false);
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos += this.varint();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`wire type ${wire} is not supported`);
    if (this.pos > this.end) throw new Error('message truncated');
  }

  more(): boolean {
    return this.pos < this.end;
  }
}

/** Reads a repeated scalar, packed (wire type 2) or one element at a time. */
function repeated<T>(r: Reader, wire: number, one: (r: Reader) => T, into: T[]): void {
  if (wire !== 2) {
    into.push(one(r));
    return;
  }
  const packed = r.sub();
  while (packed.more()) into.push(one(packed));
  r.pos = packed.end;
}

function parameter(r: Reader): InferParameter {
  let out: InferParameter = {};
  while (r.more()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) out = { parameter_choice: 'bool_param', bool_param: r.varint64(false) !== '0' };
    else if (field === 2 && wire === 0) out = { parameter_choice: 'int64_param', int64_param: r.varint64(true) };
    else if (field === 3 && wire === 2) out = { parameter_choice: 'string_param', string_param: r.string() };
    else if (field === 4 && wire === 1) out = { parameter_choice: 'double_param', double_param: r.double() };
    else if (field === 5 && wire === 0) out = { parameter_choice: 'uint64_param', uint64_param: r.varint64(false) };
    else r.skip(wire);
  }
  return out;
}

/** One map<string, InferParameter> entry into `map`. */
function parameterEntry(r: Reader, map: Record<string, InferParameter>): void {
  let key = '';
  let value: InferParameter = {};
  while (r.more()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) key = r.string();
    else if (field === 2 && wire === 2) value = parameter(r.sub());
    else r.skip(wire);
  }
  map[key] = value;
}

function contents(r: Reader): InferTensorContents {
  const c = {
    bool_contents: [] as boolean[],
    int_contents: [] as number[],
    int64_contents: [] as string[],
    uint_contents: [] as number[],
    uint64_contents: [] as string[],
    fp32_contents: [] as number[],
    fp64_contents: [] as number[],
    bytes_contents: [] as Buffer[],
  };
  while (r.more()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        repeated(r, wire, (x) => x.varint64(false) !== '0', c.bool_contents);
        break;
      case 2:
        repeated(r, wire, (x) => Number(BigInt.asIntN(32, BigInt(x.varint64(false)))), c.int_contents);
        break;
      case 3:
        repeated(r, wire, (x) => x.varint64(true), c.int64_contents);
        break;
      case 4:
        repeated(r, wire, (x) => Number(BigInt.asUintN(32, BigInt(x.varint64(false)))), c.uint_contents);
        break;
      case 5:
        repeated(r, wire, (x) => x.varint64(false), c.uint64_contents);
        break;
      case 6:
        repeated(r, wire, (x) => x.float(), c.fp32_contents);
        break;
      case 7:
        repeated(r, wire, (x) => x.double(), c.fp64_contents);
        break;
      case 8:
        if (wire === 2) c.bytes_contents.push(r.bytes());
        else r.skip(wire);
        break;
      default:
        r.skip(wire);
    }
  }
  return c;
}

function inputTensor(r: Reader): InferInputTensor {
  let name: string | undefined;
  let datatype: string | undefined;
  const shape: string[] = [];
  const parameters: Record<string, InferParameter> = {};
  let tensorContents: InferTensorContents | undefined;
  while (r.more()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) name = r.string();
    else if (field === 2 && wire === 2) datatype = r.string();
    else if (field === 3 && (wire === 0 || wire === 2)) repeated(r, wire, (x) => x.varint64(true), shape);
    else if (field === 4 && wire === 2) parameterEntry(r.sub(), parameters);
    else if (field === 5 && wire === 2) tensorContents = contents(r.sub());
    else r.skip(wire);
  }
  return {
    ...(name === undefined ? {} : { name }),
    ...(datatype === undefined ? {} : { datatype }),
    shape,
    parameters,
    ...(tensorContents === undefined ? {} : { contents: tensorContents }),
  };
}

function requestedOutput(r: Reader): InferRequestedOutputTensor {
  let name: string | undefined;
  const parameters: Record<string, InferParameter> = {};
  while (r.more()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) name = r.string();
    else if (field === 2 && wire === 2) parameterEntry(r.sub(), parameters);
    else r.skip(wire);
  }
  return { ...(name === undefined ? {} : { name }), parameters };
}

/** Decodes a ModelInferRequest; throws on a malformed message. */
export function decodeModelInferRequestMessage(buf: Buffer): ModelInferRequest {
  const r = new Reader(buf);
  let modelName: string | undefined;
  let modelVersion: string | undefined;
  let id: string | undefined;
  const parameters: Record<string, InferParameter> = {};
  const inputs: InferInputTensor[] = [];
  const outputs: InferRequestedOutputTensor[] = [];
  const raw: Buffer[] = [];
  while (r.more()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 2 && field >= 1 && field <= 7) {
      if (field === 1) modelName = r.string();
      else if (field === 2) modelVersion = r.string();
      else if (field === 3) id = r.string();
      else if (field === 4) parameterEntry(r.sub(), parameters);
      else if (field === 5) inputs.push(inputTensor(r.sub()));
      else if (field === 6) outputs.push(requestedOutput(r.sub()));
      else raw.push(r.bytes());
    } else r.skip(wire);
  }
  return {
    ...(modelName === undefined ? {} : { model_name: modelName }),
    ...(modelVersion === undefined ? {} : { model_version: modelVersion }),
    ...(id === undefined ? {} : { id }),
    parameters,
    inputs,
    outputs,
    raw_input_contents: raw,
  };
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  bytes(field: number, data: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(data.byteLength);
    this.buf.set(data, this.pos);
    this.pos += data.byteLength;
  }

  string(field: number, text: string, length: number): void {
    this.varint((field << 3) | 2);
    this.varint(length);
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }
}

const fieldSize = (field: number, length: number): number => varintSize(field << 3) + varintSize(length) + length;

/**
 * Encodes the ModelInferResponse the infer handler builds (names, shapes, raw outputs and at most
 * string parameters), or returns undefined for a message of another shape, which protobufjs
 * then encodes.
 */
export function encodeModelInferResponseMessage(message: ModelInferResponse): Buffer | undefined {
  const texts = [message.model_name, message.model_version, message.id].map((t) =>
    typeof t === 'string' ? Buffer.byteLength(t) : -1,
  );
  if (texts.some((t) => t < 0)) return undefined;
  const params: [string, string][] = [];
  for (const [key, value] of Object.entries(message.parameters ?? {})) {
    const keys = Object.keys(value).filter((k) => k !== 'parameter_choice');
    if (keys.length !== 1 || typeof value.string_param !== 'string') return undefined;
    params.push([key, value.string_param]);
  }
  const outputs: { name: number; datatype: number; shapeBytes: number; size: number }[] = [];
  for (const o of message.outputs) {
    const shape: unknown = o.shape;
    if (typeof o.name !== 'string' || typeof o.datatype !== 'string' || !Array.isArray(shape)) return undefined;
    let shapeBytes = 0;
    for (const d of shape as readonly unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
      shapeBytes += varintSize(d);
    }
    const name = Buffer.byteLength(o.name);
    const datatype = Buffer.byteLength(o.datatype);
    const size = fieldSize(1, name) + fieldSize(2, datatype) + (o.shape.length === 0 ? 0 : fieldSize(3, shapeBytes));
    outputs.push({ name, datatype, shapeBytes, size });
  }
  let total = 0;
  texts.forEach((t, i) => {
    if (t > 0) total += fieldSize(i + 1, t);
  });
  const paramSizes = params.map(([k, v]) => {
    const value = fieldSize(3, Buffer.byteLength(v));
    return { key: Buffer.byteLength(k), value, entry: fieldSize(1, Buffer.byteLength(k)) + fieldSize(2, value) };
  });
  for (const p of paramSizes) total += fieldSize(4, p.entry);
  for (const o of outputs) total += fieldSize(5, o.size);
  for (const raw of message.raw_output_contents) total += fieldSize(6, raw.byteLength);

  const w = new Writer(Buffer.allocUnsafe(total));
  [message.model_name, message.model_version, message.id].forEach((t, i) => {
    const length = texts[i] ?? 0;
    if (length > 0) w.string(i + 1, t, length);
  });
  params.forEach(([k, v], i) => {
    const sizes = paramSizes[i];
    if (sizes === undefined) return;
    w.varint((4 << 3) | 2);
    w.varint(sizes.entry);
    w.string(1, k, sizes.key);
    w.varint((2 << 3) | 2);
    w.varint(sizes.value);
    w.string(3, v, Buffer.byteLength(v));
  });
  message.outputs.forEach((o, i) => {
    const sizes = outputs[i];
    if (sizes === undefined) return;
    w.varint((5 << 3) | 2);
    w.varint(sizes.size);
    w.string(1, o.name, sizes.name);
    w.string(2, o.datatype, sizes.datatype);
    if (o.shape.length > 0) {
      w.varint((3 << 3) | 2);
      w.varint(sizes.shapeBytes);
      for (const d of o.shape) w.varint(d);
    }
  });
  for (const raw of message.raw_output_contents) w.bytes(6, raw);
  if (w.pos !== total) throw new Error(`ModelInferResponse encoding wrote ${w.pos} of ${total} bytes`);
  return w.buf;
}
