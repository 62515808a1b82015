/**
 * Tensors of a torch.save file as views of their storages, as PyTorch loads them: every storage record becomes one
 * CPU tensor, and each tensor the pickle rebuilds is a view of it (narrow, view, select, permute, expand), so tied
 * weights stay tied (an in-place write to one shows in the other) and memory is bounded by the storages' real size.
 */
import { binding } from '../native';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { ELEMENT_SIZE, StorageRef, TensorRef } from './pickle';

/** A view may repeat storage elements (stride 0); one whose dense size exceeds this is refused. */
export const MAX_EXPANDED_BYTES = 256 * 2 ** 20;

/** One view op on the tensor built so far: narrow(dim, start, length), split its last dim, or select(dim, index). */
export type ViewOp = ['narrow', number, number, number] | ['view', number[]] | ['select', number, number];
/** The core dims (size > 1, stride > 0) sorted by stride, outermost first, and the ops that build them. */
export interface ViewPlan {
  core: number[];
  ops: ViewOp[];
}

/**
 * Plans `offset/shape/strides` over a storage of `numel` elements as ops on a 1-D tensor. Dims of size 1 and stride 0
 * are left to unsqueeze/expand; the others, sorted by stride, must nest (each fits in the stride of the one outside).
 * @returns the core dims' order and the narrow/view/select steps, or undefined (then the tensor is copied).
 */
export function planView(offset: number, shape: number[], strides: number[], numel: number): ViewPlan | undefined {
  const core = shape.map((_, i) => i).filter((i) => shape[i] > 1 && strides[i] > 0);
  core.sort((a, b) => strides[b] - strides[a] || a - b);
  for (let k = 1; k < core.length; k++) if (strides[core[k]] === strides[core[k - 1]]) return undefined;
  const ops: ViewOp[] = [];
  // span[k]: elements that dims k.. reach from their first element.
  const span = new Array<number>(core.length + 1).fill(1);
  for (let k = core.length - 1; k >= 0; k--) span[k] = span[k + 1] + (shape[core[k]] - 1) * strides[core[k]];
  if (offset + span[0] > numel) return undefined;
  // Walk the levels: `width` elements per row so far (the whole storage first), `r` the offset inside that row.
  let width = numel;
  let r = offset;
  let dims = 0; // leading dims already built
  for (let k = 0; k < core.length; k++) {
    const s = shape[core[k]];
    const t = strides[core[k]];
    if (span[k + 1] > t) return undefined; // inner dims overlap the next step of this one
    const lo = Math.max(0, r + s * t - width);
    const hi = Math.min(r, t - span[k + 1]);
    if (lo > hi) return undefined; // the padded rows would run past the storage
    ops.push(['narrow', dims, r - lo, s * t]);
    ops.push(['view', [s, t]]); // splits the last dim: always a valid view of a contiguous last dim
    dims++;
    width = t;
    r = lo;
  }
  // The last level's stride is the innermost step: pick element r of each padded row (the offset for a scalar).
  ops.push(['select', dims, r]);
  return { core, ops };
}

/** Whether strides are the row-major strides of shape (dims of size 1 may have any stride). */
function isContiguous(shape: number[], strides: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Builds each tensor of a file as a view of one tensor per storage record. */
export class StorageViews {
  readonly #bases = new Map<string, Tensor>();
  // Raw bytes, kept until the storage's last tensor is built, for views the ops cannot express.
  readonly #bytes = new Map<string, Uint8Array>();
  #copied = 0;
  #stored = 0;

  /**
   * @param file names the file in errors.
   * @param copyBudget bytes that views no op can express may be copied into, in all (asked when a copy is made).
   */
  constructor(
    readonly file: string,
    readonly copyBudget: () => number,
  ) {}

  #fail(problem: string): never {
    throw new TorchError(`io: '${this.file}': ${problem}`, { code: 'ERR_PYTORCH_TENSOR' });
  }

  /** Bytes of all the storages added so far (copies of views are bounded relative to it). */
  get storedBytes(): number {
    return this.#stored;
  }

  /** Whether a storage's tensor is already built (its bytes need not be read again). */
  has(key: string): boolean {
    return this.#bases.has(key);
  }

  /** Makes the storage's tensor from its bytes (native byte order); bool bytes other than 0/1 are normalised. */
  addStorage(s: StorageRef, bytes: Uint8Array): void {
    // A bool byte other than 0 or 1 is undefined behaviour in LibTorch: normalise first.
    const src = s.dtype === 'bool' && bytes.some((b) => b > 1) ? bytes.map((b) => (b ? 1 : 0)) : bytes;
    const n = Math.floor(src.length / ELEMENT_SIZE[s.dtype]);
    this.#bases.set(s.key, binding.tensorFromBytes(src, s.dtype, [n], [1], 0) as Tensor);
    this.#bytes.set(s.key, src);
    this.#stored += src.length;
  }

  /** Drops the raw bytes of a storage whose tensors are all built, so a large file is not held twice. */
  dropBytes(key: string): void {
    this.#bytes.delete(key);
  }

  /**
   * The tensor `t` as a view of its storage's tensor (a new handle the caller owns), after checking it lies inside.
   * @throws TorchError ERR_PYTORCH_TENSOR for a view past its storage or a refused expansion.
   */
  view(name: string, t: TensorRef): Tensor {
    const base = this.#bases.get(t.storage.key) ?? this.#fail(`storage '${t.storage.key}' was not read`);
    const esize = ELEMENT_SIZE[t.storage.dtype];
    const storageNumel = base.shape[0];
    let numel = 1;
    for (const d of t.shape) numel *= d;
    if (!Number.isSafeInteger(numel)) this.#fail(`tensor '${name}' has too many elements`);
    if (numel === 0) return binding.tensorFromBytes(new Uint8Array(0), t.storage.dtype, t.shape, t.strides, 0) as Tensor;
    const last = t.offset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.strides[i], 0);
    if (!Number.isSafeInteger(last) || last >= storageNumel)
      this.#fail(`tensor '${name}' (offset ${t.offset}, size [${t.shape}], stride [${t.strides}]) reaches past its storage of ${storageNumel} elements`);
    if (numel > storageNumel && numel * esize > MAX_EXPANDED_BYTES)
      this.#fail(`tensor '${name}' repeats a storage of ${storageNumel} elements into ${numel}: refused to allocate ${numel * esize} bytes`);
    if (isContiguous(t.shape, t.strides)) {
      // The common case (a whole storage, or a chunk of one) in one or two ops: each handle is reported to V8.
      if (t.offset === 0 && numel === storageNumel) return base.view(t.shape);
      const chunk = base.narrow(0, t.offset, numel);
      try {
        return chunk.view(t.shape);
      } finally {
        chunk.dispose();
      }
    }
    const plan = planView(t.offset, t.shape, t.strides, storageNumel);
    return plan ? this.#compose(base, t, plan) : this.#copy(name, t);
  }

  // Runs the plan's ops, disposing each intermediate handle, then restores dim order, size-1 dims and expansions.
  #compose(base: Tensor, t: TensorRef, plan: ViewPlan): Tensor {
    let cur = base;
    const step = (next: Tensor): void => {
      if (cur !== base) cur.dispose();
      cur = next;
    };
    for (const op of plan.ops) {
      if (op[0] === 'narrow') step(cur.narrow(op[1], op[2], op[3]));
      else if (op[0] === 'view') step(cur.view([...cur.shape.slice(0, -1), ...op[1]]));
      else step(cur.select(op[1], op[2]));
    }
    // Core dims come out sorted by stride: put them back in the file's order.
    const order = plan.core.map((d, i) => [d, i]).sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    if (order.some((d, i) => d !== i)) step(cur.permute(order));
    for (let d = 0; d < t.shape.length; d++) if (!plan.core.includes(d)) step(cur.unsqueeze(d));
    if (t.shape.some((d, i) => d > 1 && t.strides[i] === 0)) step(cur.expand(t.shape));
    return cur === base ? base.view(t.shape) : cur;
  }

  // A view the ops cannot express (overlapping dims): copied, within the budget.
  #copy(name: string, t: TensorRef): Tensor {
    const bytes = t.shape.reduce((a, d) => a * d, 1) * ELEMENT_SIZE[t.storage.dtype];
    this.#copied += bytes;
    const budget = this.copyBudget();
    if (this.#copied > budget) this.#fail(`tensor '${name}': copying overlapping views would exceed ${budget} bytes`);
    const raw = this.#bytes.get(t.storage.key) ?? this.#fail(`storage '${t.storage.key}' was released before tensor '${name}'`);
    return binding.tensorFromBytes(raw, t.storage.dtype, t.shape, t.strides, t.offset) as Tensor;
  }

  /** Releases this builder's own handles on the storages (the views keep what they use alive). */
  dispose(): void {
    for (const b of this.#bases.values()) b.dispose();
    this.#bases.clear();
    this.#bytes.clear();
  }
}
