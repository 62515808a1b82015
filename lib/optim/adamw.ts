/** AdamW: Adam with decoupled weight decay (torch.optim.AdamW). */
import { Optimizer, OptimizerKind, ParamsOrGroups } from './optimizer';
import { adamSpecs, ADAM_ENTRIES, AdamOptions } from './adam';

/** AdamW's options, per group: Adam's, with weightDecay the decoupled rate (default 1e-2). */
export type AdamWOptions = AdamOptions;

const KIND: OptimizerKind<AdamWOptions> = { name: 'AdamW', native: 'adamw', specs: adamSpecs(1e-2), entries: ADAM_ENTRIES };

/** AdamW over LibTorch's implementation; same trajectory as PyTorch's `torch.optim.AdamW`. */
export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: ParamsOrGroups<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super(KIND, params, options);
  }
}
