/** fit's `precision` option: what autocast and loss scaling a training step runs under ('fp32', 'bf16' or 'fp16'). */
import type { Tensor } from '../tensor';
import { isAvailable as cudaAvailable } from '../cuda';
import { TorchError } from '../errors';
import { autocast, type AutocastDevice, type AutocastDtype } from './autocast';
import { GradScaler, type ScalableOptimizer } from './grad-scaler';

/** Training precision: 'fp32' (default), 'bf16' (autocast to bfloat16, CPU or CUDA), 'fp16' (CUDA autocast to float16 with a GradScaler). */
export type Precision = 'fp32' | 'bf16' | 'fp16';

/** How one training step runs under a precision; fit calls these in place of the plain forward, backward and step. */
export interface PrecisionPlan {
  readonly precision: Precision;
  /** The scaler of an fp16 run (undefined otherwise). */
  readonly scaler?: GradScaler;
  /** Runs the forward pass and loss (autocast for bf16 and fp16). */
  forward<T>(fn: () => T): T;
  /** loss.backward(), of the scaled loss for fp16. */
  backward(loss: Tensor): void;
  /** Before gradients are read or clipped: unscales them for fp16 (no-op otherwise). */
  unscale(optimizer: { step(): void }): void;
  /** The optimizer's step (skipped on inf/NaN gradients for fp16, then the scale updated). */
  step(optimizer: { step(): void }): void;
}

/**
 * Checks `precision` for a run on `device` (fit's device option, else the model's first parameter's device) and
 * returns the step's plan; throws before any step runs when the device cannot run it.
 * @throws TypeError for an unknown precision, or 'fp16' with an optimizer without paramGroups; RangeError for 'fp16' without CUDA (use 'bf16' on CPU); TorchError ERR_NO_CUDA for a CUDA device without a GPU.
 */
export function planPrecision(precision: unknown, device: string | undefined, model: unknown, optimizer: unknown, where: string): PrecisionPlan {
  const p = precision ?? 'fp32';
  if (p !== 'fp32' && p !== 'bf16' && p !== 'fp16') throw new TypeError(`${where}: precision must be 'fp32', 'bf16' or 'fp16', got ${String(precision)}`);
  if (p === 'fp32') return FP32;
  const deviceType: AutocastDevice = (device ?? modelDevice(model)).startsWith('cuda') ? 'cuda' : 'cpu';
  if (deviceType === 'cuda' && !cudaAvailable()) throw new TorchError(`${where}: precision '${p}' on a CUDA device, but CUDA is not available`, { code: 'ERR_NO_CUDA' });
  if (p === 'fp16' && deviceType !== 'cuda')
    throw new RangeError(`${where}: precision 'fp16' needs a CUDA device (float16 autocast with a GradScaler); on CPU use 'bf16'`);
  if (p === 'fp16' && !Array.isArray((optimizer as { paramGroups?: unknown } | undefined)?.paramGroups))
    throw new TypeError(`${where}: precision 'fp16' needs a tg.optim optimizer (its GradScaler unscales the gradients of paramGroups)`);
  const dtype: AutocastDtype = p === 'bf16' ? 'bfloat16' : 'float16';
  const forward = <T>(fn: () => T): T => autocast(fn, { deviceType, dtype });
  if (p === 'bf16') return { precision: p, forward, backward: (l) => l.backward(), unscale: () => undefined, step: (o) => o.step() };
  const scaler = new GradScaler();
  const unscaled = new WeakSet<object>();
  return {
    precision: p,
    scaler,
    forward,
    backward: (l) => scaler.scale(l).backward(),
    unscale(o) {
      if (unscaled.has(o)) return;
      scaler.unscale_(o as ScalableOptimizer);
      unscaled.add(o);
    },
    step(o) {
      scaler.step(o as ScalableOptimizer);
      scaler.update();
      unscaled.delete(o);
    },
  };
}

const FP32: PrecisionPlan = {
  precision: 'fp32',
  forward: (fn) => fn(),
  backward: (l) => l.backward(),
  unscale: () => undefined,
  step: (o) => o.step(),
};

function modelDevice(model: unknown): string {
  const m = model as { parameters?: () => Tensor[] };
  if (typeof m?.parameters !== 'function') return 'cpu';
  const ps = m.parameters();
  return ps[0]?.device ?? 'cpu';
}
