/** Data types and devices, named as PyTorch names them. */

/** Element types a tensor can hold. */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** `'cpu'`, `'cuda'` (the current GPU) or `'cuda:N'`. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Every dtype name, for validation and documentation. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

/** The TypedArray a dtype is read into (JavaScript has no 16-bit floats: those read as float32). */
export type TypedArrayFor<D extends DType> = D extends 'float64'
  ? Float64Array
  : D extends 'int64'
    ? BigInt64Array
    : D extends 'int32'
      ? Int32Array
      : D extends 'int16'
        ? Int16Array
        : D extends 'int8'
          ? Int8Array
          : D extends 'uint8' | 'bool'
            ? Uint8Array
            : Float32Array;

export type AnyTypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array;

/** Whether a name is a dtype. */
export function isDType(name: unknown): name is DType {
  return typeof name === 'string' && (DTYPES as readonly string[]).includes(name);
}

/** Whether a dtype holds floating-point values. */
export function isFloatingDType(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** Wraps the raw host bytes of a tensor of dtype `d` in the matching TypedArray. */
export function typedArrayFor(d: DType, buf: ArrayBuffer): AnyTypedArray {
  switch (d) {
    case 'float64':
      return new Float64Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int16':
      return new Int16Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf);
    default:
      return new Float32Array(buf);
  }
}
