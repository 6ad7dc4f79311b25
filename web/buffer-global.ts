// The SDK and the generated protobuf code use Node's Buffer; in a page it is the `buffer` package's (esbuild injects
// this module wherever the bundle names Buffer).
export { Buffer } from 'buffer';
