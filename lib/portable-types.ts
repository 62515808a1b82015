/**
 * Stand-ins for Node's types and symbols in what the public declarations name, so that a project compiles against
 * torchgraft's .d.ts files without @types/node (`tsc --strict` with `"types": []`).
 */

/**
 * Node's `util.inspect.custom`: a registered symbol, so it needs no `node:util` import (Node documents
 * `Symbol.for('nodejs.util.inspect.custom')` as the same symbol).
 */
export const inspectCustom: unique symbol = Symbol.for('nodejs.util.inspect.custom');

/** Node's Buffer where @types/node is loaded (inside torchgraft), a plain Uint8Array for projects without it. */
export type NodeBuffer = typeof globalThis extends { Buffer: { isBuffer(obj: unknown): obj is infer B } } ? B : Uint8Array;

/** Every TypedArray (Node's `NodeJS.TypedArray`, written out). */
export type AnyTypedArrayView =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** What torchgraft reads of an AbortSignal (Node's or the DOM's): whether it fired, why, and its abort event. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
