/** The cached features as datasets: rows of in-memory tensors here, blocks of the disk file in disk-features.ts. */
import type { Dataset } from '../../data/dataset';
import type { Batch } from '../../data/example';
import { TensorDataset } from '../../data/tensor-dataset';
import type { DType } from '../../dtype';
import type { Tensor } from '../../tensor';

/** A cache's examples; `dispose` frees the tensors or closes the file. */
export interface CachedDataset extends Dataset {
  dispose(): void;
}

/** Features (field 0) stored in a narrower dtype are cast back to `headDtype` when batched. */
export class MemoryFeatures extends TensorDataset implements CachedDataset {
  constructor(
    fields: Tensor[],
    private readonly headDtype: DType,
  ) {
    super(...fields);
  }

  /** @internal */
  gatherPlan(): { tensors: Tensor[]; casts: (DType | null)[] } {
    return { tensors: this.tensors, casts: this.tensors.map((_, i) => (i === 0 ? this.headDtype : null)) };
  }

  getBatch(indices: number[]): Batch {
    const b = super.getBatch(indices);
    if (b[0].dtype === this.headDtype) return b;
    const cast = b[0].to({ dtype: this.headDtype });
    b[0].dispose();
    b[0] = cast;
    return b;
  }

  getItem(index: number): Tensor[] {
    const b = this.getBatch([index]);
    const out = b.map((t) => t.squeeze(0));
    b.forEach((t) => t.dispose());
    return out;
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
  }
}

export { DiskFeatures } from './disk-features';
