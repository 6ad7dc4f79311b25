/** `bytes` as a Buffer over the same memory, without copying (protobuf writers and grpc-js hand out Uint8Arrays). */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
