/** torch.nn.functional.pad: constant, reflect, replicate and circular padding, with gradients through index_select. */
import { binding } from '../native';
import type { Tensor } from '../tensor';
import { tensor } from '../creation';
import { tidy } from '../memory';

/** Padding modes of `torch.nn.functional.pad`. */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';
/** Modes that take their values from the input itself (torchvision's 'edge' is 'replicate', 'symmetric' repeats the edge). */
export type IndexPadMode = 'reflect' | 'replicate' | 'symmetric' | 'circular';

const MODES: PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

/**
 * The input index of each output element along one axis of `size` elements padded by `before` and `after` (negative
 * values crop): torch's reflect (edge not repeated) and replicate, torchvision's symmetric (edge repeated), circular.
 */
export function padIndices(size: number, before: number, after: number, mode: IndexPadMode): Int32Array {
  const idx = new Int32Array(Math.max(0, before + size + after));
  for (let o = 0; o < idx.length; o++) {
    const i = o - before;
    if (i >= 0 && i < size) idx[o] = i;
    else if (mode === 'replicate') idx[o] = i < 0 ? 0 : size - 1;
    else if (mode === 'reflect') idx[o] = i < 0 ? -i : 2 * (size - 1) - i;
    else if (mode === 'circular') idx[o] = ((i % size) + size) % size;
    else idx[o] = i < 0 ? -i - 1 : 2 * size - 1 - i;
  }
  return idx;
}

function checkPadList(input: Tensor, padding: unknown): number[] {
  if (!binding.isTensor(input)) throw new TypeError('pad(): input must be a Tensor');
  if (!Array.isArray(padding) || !padding.every((p) => typeof p === 'number' && Number.isInteger(p)))
    throw new TypeError(`pad(): pad must be an array of integers (left, right) pairs from the last dimension backwards, got ${String(padding)}`);
  if (padding.length % 2 !== 0) throw new RangeError(`pad(): padding length must be divisible by 2, got ${padding.length}`);
  if (padding.length > 2 * input.ndim)
    throw new RangeError(`pad(): padding length ${padding.length} is more than two times the input's ${input.ndim} dimensions`);
  return padding as number[];
}

/**
 * Pads `input` as `torch.nn.functional.pad(input, pad, mode, value)`: `pad` lists (before, after) pairs from the last
 * dimension backwards, and negative values crop. 'constant' fills with `value` (default 0) on any dimensions;
 * 'reflect' (edge not repeated; padding < size), 'replicate' and 'circular' (padding ≤ size, wrapping what is left
 * after cropping) pad the last 1, 2 or 3 dimensions of a batched or unbatched input (2-D/3-D, 3-D/4-D, 4-D/5-D),
 * as PyTorch. Gradients flow to the input in every mode. A number as the third argument is the constant's value.
 * @example F.pad(x, [1, 1, 2, 0], 'reflect')   // width by 1 on both sides, height by 2 on top
 * @throws TypeError for a non-integer pad, an unknown mode or a value with a mode other than 'constant';
 *   RangeError for an odd or too long pad, too wide reflect/circular padding, unsupported dimensions, or an empty result
 *   (an empty result is allowed in 'constant' and 'circular' mode, as in PyTorch).
 */
export function pad(input: Tensor, padding: number[], mode?: PadMode | number, value?: number): Tensor {
  if (typeof mode === 'number') [mode, value] = ['constant', mode];
  const m = mode ?? 'constant';
  if (!MODES.includes(m)) throw new TypeError(`pad(): unknown padding mode '${String(m)}' (expected one of ${MODES.join(', ')})`);
  const p = checkPadList(input, padding);
  if (value !== undefined && typeof value !== 'number') throw new TypeError(`pad(): value must be a number, got ${typeof value}`);
  const shape = input.shape;
  const k = p.length / 2;
  for (let j = 0; j < k; j++) {
    const size = shape[shape.length - 1 - j];
    if (size + p[2 * j] + p[2 * j + 1] < 0)
      throw new RangeError(`pad(): padding (${p[2 * j]}, ${p[2 * j + 1]}) leaves a negative size at dimension ${shape.length - 1 - j} of input [${shape.join(', ')}]`);
  }
  if (m === 'constant') return binding.functional.pad(input, p, value ?? 0);
  if (value !== undefined && value !== 0) throw new TypeError(`pad(): padding mode '${m}' does not take a value`);
  if (k < 1 || k > 3 || (input.ndim !== k + 1 && input.ndim !== k + 2))
    throw new RangeError(`pad(): '${m}' padding of ${k} dimension(s) needs a ${k + 1}-D or ${k + 2}-D input, got [${shape.join(', ')}] (PyTorch pads the last 1, 2 or 3 dimensions of 2-D to 5-D inputs)`);
  for (let j = 0; j < k; j++) {
    const dim = shape.length - 1 - j;
    const [before, after] = [p[2 * j], p[2 * j + 1]];
    const size = shape[dim];
    const out = size + before + after;
    if (m === 'reflect' && (before >= size || after >= size))
      throw new RangeError(`pad(): reflect padding (${before}, ${after}) must be less than the size of dimension ${dim} of input [${shape.join(', ')}]`);
    if (m === 'circular') {
      const kept = size - Math.max(0, -before) - Math.max(0, -after);
      if (before > kept || after > kept)
        throw new RangeError(`pad(): circular padding (${before}, ${after}) of dimension ${dim} of input [${shape.join(', ')}] would wrap around more than once`);
    } else if (out < 1) {
      throw new RangeError(`pad(): ${m} padding (${before}, ${after}) leaves no element at dimension ${dim} of input [${shape.join(', ')}]`);
    }
  }
  return tidy(() => {
    let x = input;
    for (let j = 0; j < k; j++) {
      const dim = shape.length - 1 - j;
      let [before, after] = [p[2 * j], p[2 * j + 1]];
      // circular wraps what is left after cropping (as PyTorch), so crop first, then index the rest
      if (m === 'circular' && (before < 0 || after < 0)) {
        const start = Math.max(0, -before);
        x = x.narrow(dim, start, x.shape[dim] - start - Math.max(0, -after));
        [before, after] = [Math.max(0, before), Math.max(0, after)];
      }
      const index = tensor(padIndices(x.shape[dim], before, after, m), { dtype: 'int64', device: input.device });
      x = x.indexSelect(dim, index);
    }
    return x;
  });
}
