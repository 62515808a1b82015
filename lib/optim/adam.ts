/** Adam, optionally AMSGrad, with L2 weight decay added to the gradient (torch.optim.Adam). */
import { Optimizer, OptimizerKind, ParamsOrGroups } from './optimizer';
import { betas, flag, nonNegative, OptionSpecs } from './options';

/** Adam's (and AdamW's) options, per group. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages, each in [0, 1) (default [0.9, 0.999]). */
  betas: [number, number];
  /** Term added to the denominator (default 1e-8). */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay rate (default 1e-2). */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad) (default false). */
  amsgrad: boolean;
}

/** Adam's option specs with a given default weight decay (AdamW differs only there). */
export function adamSpecs(weightDecay: number): OptionSpecs<AdamOptions> {
  return { lr: nonNegative(1e-3), betas: betas([0.9, 0.999]), eps: nonNegative(1e-8), weightDecay: nonNegative(weightDecay), amsgrad: flag(false) };
}

/** The state entries Adam and AdamW keep per parameter. */
export const ADAM_ENTRIES = { required: ['step', 'exp_avg', 'exp_avg_sq'], optional: ['max_exp_avg_sq'] } as const;

const KIND: OptimizerKind<AdamOptions> = { name: 'Adam', native: 'adam', specs: adamSpecs(0), entries: ADAM_ENTRIES };

/** Adam over LibTorch's implementation; same trajectory as PyTorch's `torch.optim.Adam`, each group's lr applied. */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamsOrGroups<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(KIND, params, options);
  }
}
