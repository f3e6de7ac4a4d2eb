// Gives a typed array a buffer of its own when it shares one, so transferring it to another
// thread never detaches memory other views use (Node's pooled Buffers, request bodies).

export function ownedView(view: ArrayBufferView): ArrayBufferView {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) {
    return view;
  }
  const ctor = view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView;
  const copy = new ArrayBuffer(view.byteLength);
  new Uint8Array(copy).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return new ctor(copy);
}
