/**
 * Writes to a tensor's values that LibTorch's version counter does not count, counted here instead, so that
 * `_version()` plus this count moves whenever the values may have moved. Known in LibTorch 1.13:
 * - batch_norm in training mode updates the running mean and variance in place without bumping their versions
 *   (its schema does not declare them mutable; PyTorch 1.13.1's `bn.running_mean._version` stays put as well);
 * - `set_data` (a TorchScript module's `to()`) swaps a tensor's storage, dtype and values under the same object.
 * The wrappers that make those calls (tg.nn.functional.batchNorm, ScriptModule.to) note them here; a feature
 * cache's staleness stamp reads the count. A WeakMap: noting nothing keeps a tensor alive.
 */
import type { Tensor } from './tensor';

const writes = new WeakMap<Tensor, number>();

/** Records that `t`'s values were (or may have been) written without a version bump. */
export function noteUncountedWrite(t: Tensor | null | undefined): void {
  if (t) writes.set(t, (writes.get(t) ?? 0) + 1);
}

/** How many uncounted writes were noted on `t`. */
export function uncountedWrites(t: Tensor): number {
  return writes.get(t) ?? 0;
}
