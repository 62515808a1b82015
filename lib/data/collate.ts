/** The default collation: stack each field of a list of examples into one tensor. */
import { stack, tensor } from '../creation';
import { isTensor, Tensor } from '../tensor';
import type { Batch, Example } from './example';
import { describe } from './tensor-dataset';

/**
 * Stacks field k of every example into batch field k (tensors with `stack`; numbers into an int64 tensor
 * when all are integers, else float32). All examples must have the same number of fields.
 */
export function defaultCollate(examples: Example[]): Batch {
  if (!Array.isArray(examples) || examples.length === 0) throw new TypeError('collate: expected a non-empty array of examples');
  const width = fields(examples[0], 0).length;
  const out: Tensor[] = [];
  try {
    for (let k = 0; k < width; k++) {
      const column = examples.map((e, i) => {
        const f = fields(e, i);
        if (f.length !== width) throw new RangeError(`collate: example ${i} has ${f.length} fields, example 0 has ${width}`);
        return f[k];
      });
      if (column.every((v) => typeof v === 'number')) {
        const nums = column as number[];
        out.push(tensor(nums, { dtype: nums.every(Number.isInteger) ? 'int64' : 'float32' }));
      } else if (column.every((v) => isTensor(v))) {
        out.push(stack(column as Tensor[], 0));
      } else {
        const bad = column.findIndex((v) => !isTensor(v));
        throw new TypeError(`collate: field ${k} mixes tensors and other values (example ${bad} has ${describe(column[bad])})`);
      }
    }
  } catch (e) {
    for (const t of out) t.dispose();
    throw e;
  }
  return out;
}

function fields(e: unknown, i: number): unknown[] {
  if (!Array.isArray(e)) throw new TypeError(`collate: example ${i} must be an array of fields such as [x, y], got ${describe(e)}`);
  return e;
}
