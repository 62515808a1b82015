/** Merge modules for graphs with several inputs: Add, Multiply (elementwise, broadcasting) and Concatenate (torch.cat). */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { cat } from '../../creation';
import { Module } from '../module';

function inputs(list: unknown[], layer: string): Tensor[] {
  const flat = list.length === 1 && Array.isArray(list[0]) ? (list[0] as unknown[]) : list;
  if (flat.length === 0) throw new RangeError(`${layer}: expected at least one tensor`);
  flat.forEach((t, i) => {
    if (!isTensor(t)) throw new TypeError(`${layer}: input ${i} is not a Tensor (got ${t === null ? 'null' : typeof t})`);
  });
  return flat as Tensor[];
}

/** Folds the inputs pairwise, disposing the intermediate results. */
function fold(list: Tensor[], op: (a: Tensor, b: Tensor) => Tensor): Tensor {
  if (list.length === 1) return list[0].clone();
  let acc = op(list[0], list[1]);
  for (let i = 2; i < list.length; i++) {
    const next = op(acc, list[i]);
    acc.dispose();
    acc = next;
  }
  return acc;
}

/** The elementwise sum of any number of tensors (broadcasting): `forward(a, b, c)` or `forward([a, b, c])`. */
export class Add extends Module {
  /** Sums the inputs. */
  forward(...xs: (Tensor | Tensor[])[]): Tensor {
    return fold(inputs(xs, 'Add'), (a, b) => a.add(b));
  }
}

/** The elementwise product of any number of tensors (broadcasting): `forward(a, b, c)` or `forward([a, b, c])`. */
export class Multiply extends Module {
  /** Multiplies the inputs. */
  forward(...xs: (Tensor | Tensor[])[]): Tensor {
    return fold(inputs(xs, 'Multiply'), (a, b) => a.mul(b));
  }
}

/** Concatenates any number of tensors along `dim` (torch.cat; default 0). */
export class Concatenate extends Module {
  readonly dim: number;

  /** @param options `{ dim }`, the dimension to concatenate along (default 0, as torch.cat). */
  constructor(options: { dim?: number } = {}) {
    super();
    const dim = options.dim ?? 0;
    if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new TypeError(`Concatenate: dim must be an integer, got ${JSON.stringify(dim)}`);
    this.dim = dim;
  }

  /** Concatenates the inputs. */
  forward(...xs: (Tensor | Tensor[])[]): Tensor {
    const list = inputs(xs, 'Concatenate');
    const n = Math.max(list[0].ndim, 1);
    if (this.dim < -n || this.dim >= n) throw new RangeError(`Concatenate(dim=${this.dim}): dimension out of range for input of shape [${list[0].shape.join(', ')}]`);
    return cat(list, this.dim);
  }

  extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
