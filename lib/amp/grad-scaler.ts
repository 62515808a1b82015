/** tg.amp.GradScaler: loss scaling for float16 training, PyTorch's GradScaler (growth tracker, skipped steps) over tensor ops. */
import { buildInfo } from '../info';
import { tidy, dispose, keep } from '../memory';
import { noGrad } from '../autograd';
import { isTensor, type Tensor } from '../tensor';
import { full } from '../creation';
import { checkKnownKeys } from '../known-keys';

/** The scale tensor's shape in PyTorch's GradScaler of this LibTorch's version: (1,) before 2.3, () since. */
const SCALE_SHAPE = (): number[] => {
  const [major, minor] = buildInfo().torchVersion.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 3) ? [] : [1];
};

/** GradScaler's options, as torch.cuda.amp.GradScaler's. */
export interface GradScalerOptions {
  /** The first scale (default 2^16). */
  initScale?: number;
  /** The scale is multiplied by this after growthInterval steps in a row without inf/NaN gradients (default 2). */
  growthFactor?: number;
  /** The scale is multiplied by this after a step with inf/NaN gradients, which is skipped (default 0.5). */
  backoffFactor?: number;
  /** Steps without inf/NaN gradients before the scale grows (default 2000). */
  growthInterval?: number;
  /** false makes every method a pass-through (scale returns its input, step just steps); default true. */
  enabled?: boolean;
}

/** What stateDict() gives and loadStateDict() takes: plain JSON. */
export interface GradScalerState {
  scale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  growthTracker: number;
}

/** An optimizer the scaler can unscale and step: tg.optim's (parameter groups listing their parameters). */
export interface ScalableOptimizer {
  step(): void;
  readonly paramGroups: readonly { readonly params: readonly Tensor[] }[];
}

type Stage = 'ready' | 'unscaled' | 'stepped';
interface OptimizerState {
  stage: Stage;
  /** Per device: 1 when a gradient had an inf or NaN, else 0 (float32, one element). */
  foundInf: Map<string, Tensor>;
}

/**
 * Scales the loss so that float16 gradients do not underflow, then unscales the gradients before the step, skipping
 * the step when any is inf or NaN and adapting the scale, exactly as PyTorch's GradScaler (torch.cuda.amp in 1.13,
 * torch.amp in 2.x) does: after a skipped step the scale is multiplied by backoffFactor and the growth tracker reset;
 * after growthInterval good steps in a row it is multiplied by growthFactor (unless that overflows float32). Works
 * on CPU tensors too.
 * @example
 * const scaler = new tg.amp.GradScaler();
 * const loss = tg.amp.autocast(() => lossFn(net.forward(x), y), { deviceType: 'cuda' });
 * scaler.scale(loss).backward(); scaler.unscale_(opt); tg.optim.clipGradNorm_(net.parameters(), 1);
 * scaler.step(opt); scaler.update(); opt.zeroGrad();
 */
export class GradScaler {
  #enabled: boolean;
  #initScale: number;
  #growthFactor: number;
  #backoffFactor: number;
  #growthInterval: number;
  // float32 values, as PyTorch's one-element tensors; undefined until the first scale(), as PyTorch's lazy init
  #scale: number | undefined;
  #growthTracker = 0;
  #perOptimizer = new Map<object, OptimizerState>();

  constructor(options: GradScalerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('GradScaler: options must be an object');
    checkKnownKeys(options, ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled'], 'GradScaler');
    this.#initScale = positive(options.initScale ?? 2 ** 16, 'initScale');
    this.#growthFactor = positive(options.growthFactor ?? 2, 'growthFactor');
    if (!(this.#growthFactor > 1)) throw new RangeError(`GradScaler: growthFactor must be > 1, got ${this.#growthFactor}`);
    this.#backoffFactor = positive(options.backoffFactor ?? 0.5, 'backoffFactor');
    if (!(this.#backoffFactor < 1)) throw new RangeError(`GradScaler: backoffFactor must be < 1, got ${this.#backoffFactor}`);
    this.#growthInterval = interval(options.growthInterval ?? 2000);
    if (options.enabled !== undefined && typeof options.enabled !== 'boolean') throw new TypeError(`GradScaler: enabled must be a boolean, got ${String(options.enabled)}`);
    this.#enabled = options.enabled ?? true;
  }

  /** Whether the scaler scales (false: a pass-through). */
  isEnabled(): boolean {
    return this.#enabled;
  }

  /** The current scale (initScale before the first scale(); 1 when disabled). */
  getScale(): number {
    if (!this.#enabled) return 1;
    return this.#scale ?? Math.fround(this.#initScale);
  }

  /** Good steps in a row since the scale last changed. */
  getGrowthTracker(): number {
    return this.#growthTracker;
  }

  /**
   * The outputs (a loss, or an array of them, nested) multiplied by the scale, as new tensors: call backward() on it.
   * The scale is a float32 tensor of the shape PyTorch of the same LibTorch version uses: [1] up to 2.2 (a 0-d loss
   * comes back with shape [1]), 0-d from 2.3 on (torch.amp.GradScaler).
   */
  scale<T extends Tensor | readonly unknown[]>(outputs: T): T {
    if (!this.#enabled) return outputs;
    this.#scale ??= Math.fround(this.#initScale);
    const s = this.#scale;
    const apply = (v: unknown): unknown => {
      if (isTensor(v)) return tidy(() => v.mul(full(SCALE_SHAPE(), s, { dtype: 'float32', device: v.device })));
      if (Array.isArray(v)) return v.map(apply);
      throw new TypeError(`GradScaler.scale: outputs must be a tensor or an array of tensors, got ${v === null ? 'null' : typeof v}`);
    };
    return apply(outputs) as T;
  }

  /**
   * Divides the optimizer's gradients by the scale in place and records whether any is inf or NaN (PyTorch's
   * unscale_). Call it before clipping gradients; at most once per optimizer between update()s; step() calls it
   * when you have not.
   * @throws Error when called twice, or after step(), before update(); TypeError for float16 gradients (keep the
   * parameters in float32, as PyTorch requires).
   */
  unscale_(optimizer: ScalableOptimizer): void {
    if (!this.#enabled) return;
    this.#checkScaled('unscale_');
    const st = this.#stateOf(optimizer);
    if (st.stage === 'unscaled') throw new RangeError('GradScaler.unscale_: unscale_() has already been called on this optimizer since the last update()');
    if (st.stage === 'stepped') throw new RangeError('GradScaler.unscale_: unscale_() is being called after step()');
    // PyTorch: inv_scale = scale.double().reciprocal().float()
    const inv = Math.fround(1 / this.#scale!);
    const byDevice = new Map<string, Tensor[]>();
    for (const p of paramsOf(optimizer)) {
      const g = p.grad;
      if (g === undefined) continue;
      if (g.dtype === 'float16') {
        g.dispose();
        throw new TypeError('GradScaler.unscale_: attempting to unscale float16 gradients (keep the parameters in float32; autocast casts them)');
      }
      const list = byDevice.get(g.device) ?? [];
      list.push(g);
      byDevice.set(g.device, list);
    }
    try {
      for (const [device, grads] of byDevice) {
        // found_inf is checked on the values before they are multiplied, as _amp_foreach_non_finite_check_and_unscale_
        const found = keep(tidy(() => noGrad(() => {
          const bad = grads.map((g) => g.isfinite().all().logicalNot().reshape([1]));
          const any = bad.length === 1 ? bad[0] : bad.reduce((a, b) => a.logicalOr(b));
          for (const g of grads) g.mul_(inv);
          return any.to({ dtype: 'float32' });
        })));
        st.foundInf.set(device, found);
      }
    } finally {
      dispose(byDevice.size ? [...byDevice.values()].flat() : []);
    }
    st.stage = 'unscaled';
  }

  /**
   * Unscales the gradients (unless unscale_ already did) and runs optimizer.step() unless a gradient is inf or NaN,
   * in which case the step is skipped (PyTorch's GradScaler.step). Returns whether the step ran.
   * @throws Error when step() was already called since the last update(), or when no gradient was found.
   */
  step(optimizer: ScalableOptimizer): boolean {
    if (!this.#enabled) {
      optimizer.step();
      return true;
    }
    this.#checkScaled('step');
    const st = this.#stateOf(optimizer);
    if (st.stage === 'stepped') throw new RangeError('GradScaler.step: step() has already been called since the last update()');
    if (st.stage === 'ready') this.unscale_(optimizer);
    if (st.foundInf.size === 0) throw new RangeError('GradScaler.step: no inf checks were recorded for this optimizer (no parameter has a gradient)');
    let found = 0;
    for (const t of st.foundInf.values()) found += t.item();
    const stepped = found === 0;
    if (stepped) optimizer.step();
    st.stage = 'stepped';
    return stepped;
  }

  /**
   * Adapts the scale after the step(s) since the last update (PyTorch's update / _amp_update_scale_): halved (times
   * backoffFactor) when any optimizer saw inf/NaN, grown (times growthFactor) after growthInterval good steps; or set
   * to newScale when given.
   */
  update(newScale?: number): void {
    if (!this.#enabled) return;
    this.#checkScaled('update');
    if (newScale !== undefined) {
      if (typeof newScale !== 'number' || !Number.isFinite(newScale) || !(newScale > 0)) throw new RangeError(`GradScaler.update: newScale must be a finite number > 0, got ${String(newScale)}`);
      this.#scale = Math.fround(newScale);
    } else {
      const founds = [...this.#perOptimizer.values()].flatMap((s) => [...s.foundInf.values()]);
      if (founds.length === 0) throw new RangeError('GradScaler.update: no inf checks were recorded prior to update() (call step() first)');
      let found = 0;
      for (const t of founds) found += t.item();
      const scale = this.#scale!;
      if (found !== 0) {
        this.#scale = Math.fround(scale * this.#backoffFactor);
        this.#growthTracker = 0;
      } else if (this.#growthTracker + 1 === this.#growthInterval) {
        const grown = Math.fround(scale * this.#growthFactor);
        if (Number.isFinite(grown)) this.#scale = grown;  // never grows past float32 to inf
        this.#growthTracker = 0;
      } else this.#growthTracker += 1;
    }
    this.#reset();
  }

  /** The scaler's state as plain JSON (empty when disabled), for checkpoints. */
  stateDict(): GradScalerState | Record<string, never> {
    if (!this.#enabled) return {};
    return { scale: this.getScale(), growthFactor: this.#growthFactor, backoffFactor: this.#backoffFactor, growthInterval: this.#growthInterval, growthTracker: this.#growthTracker };
  }

  /**
   * Restores a state from stateDict(), or from PyTorch's `scaler.state_dict()` (keys scale, growth_factor,
   * backoff_factor, growth_interval, _growth_tracker).
   * @throws RangeError for an empty state (saved from a disabled scaler) or a bad value.
   */
  loadStateDict(state: GradScalerState | Record<string, unknown>): void {
    if (!this.#enabled) return;
    if (state === null || typeof state !== 'object' || Object.keys(state).length === 0)
      throw new RangeError('GradScaler.loadStateDict: the state is empty, possibly because it was saved from a disabled GradScaler');
    const s = state as Record<string, unknown>;
    const get = (camel: string, snake: string): unknown => (camel in s ? s[camel] : s[snake]);
    const scale = positive(get('scale', 'scale'), 'scale');
    const growthFactor = positive(get('growthFactor', 'growth_factor'), 'growthFactor');
    const backoffFactor = positive(get('backoffFactor', 'backoff_factor'), 'backoffFactor');
    const growthInterval = interval(get('growthInterval', 'growth_interval'));
    const tracker = get('growthTracker', '_growth_tracker');
    if (!Number.isInteger(tracker) || (tracker as number) < 0) throw new RangeError(`GradScaler.loadStateDict: growthTracker must be an integer >= 0, got ${String(tracker)}`);
    this.#initScale = scale;
    if (this.#scale !== undefined) this.#scale = Math.fround(scale);
    this.#growthFactor = growthFactor;
    this.#backoffFactor = backoffFactor;
    this.#growthInterval = growthInterval;
    this.#growthTracker = tracker as number;
  }

  #checkScaled(where: string): void {
    if (this.#scale === undefined) throw new RangeError(`GradScaler.${where}: call scale() first (the scale is made on the loss's device)`);
  }

  #stateOf(optimizer: ScalableOptimizer): OptimizerState {
    if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.step !== 'function' || !Array.isArray(optimizer.paramGroups))
      throw new TypeError('GradScaler: optimizer must be a tg.optim optimizer (step() and paramGroups)');
    let st = this.#perOptimizer.get(optimizer);
    if (!st) {
      st = { stage: 'ready', foundInf: new Map() };
      this.#perOptimizer.set(optimizer, st);
    }
    return st;
  }

  #reset(): void {
    for (const st of this.#perOptimizer.values()) dispose([...st.foundInf.values()]);
    this.#perOptimizer.clear();
  }
}

function paramsOf(o: ScalableOptimizer): Tensor[] {
  return o.paramGroups.flatMap((g) => [...g.params]);
}

function positive(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) throw new RangeError(`GradScaler: ${name} must be a finite number > 0, got ${String(v)}`);
  return v;
}

function interval(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`GradScaler: growthInterval must be an integer >= 1, got ${String(v)}`);
  return v as number;
}
