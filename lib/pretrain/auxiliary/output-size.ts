/** The feature count a module outputs for inputs like the given ones (one sample, no grad). */
import type { Tensor } from '../../tensor';
import type { Module } from '../../nn/module';
import { noGrad } from '../../autograd';
import { tidy } from '../../memory';

/** @internal runs one sample through `m` in eval mode and returns its output's last dimension. */
export function outputFeatures(m: Module, sample: Tensor): number {
  const training = m.training;
  m.eval();
  try {
    return noGrad(() => tidy(() => {
      const out = m.forward(sample.narrow(0, 0, 1)) as Tensor;
      return out.shape[out.ndim - 1];
    }));
  } finally {
    m.train(training);
  }
}
