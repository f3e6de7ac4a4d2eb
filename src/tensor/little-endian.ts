// The binary tensor extension, .npy files and ORT buffers are all little-endian, and the codecs
// view those bytes through native typed arrays; this refuses to load on a big-endian host.

const probe = new Uint8Array(new Uint16Array([0x0102]).buffer);
if (probe[0] !== 0x02) {
  throw new Error(
    'inferd requires a little-endian host: its tensor codecs read wire bytes through native typed arrays',
  );
}

export const HOST_IS_LITTLE_ENDIAN = true;
