/** Switches for LibTorch's CPU back ends, as `torch.backends` in Python. */
import { binding } from './native';

/**
 * oneDNN (formerly MKL-DNN), which LibTorch uses for CPU convolutions where it was built with it.
 * As `torch.backends.mkldnn` in Python; `enabled` is process-wide.
 */
export const mkldnn = {
  /** Whether this LibTorch was built with oneDNN. */
  isAvailable(): boolean {
    return binding.mkldnnIsAvailable();
  },
  /**
   * Whether LibTorch may use oneDNN (default true). Set it to false to run convolutions on LibTorch's own kernels, for
   * example where a build's oneDNN gives wrong results (the README's "Known problems in LibTorch builds" lists the cases found).
   */
  get enabled(): boolean {
    return binding.mkldnnEnabled();
  },
  set enabled(on: boolean) {
    binding.setMkldnnEnabled(on);
  },
};
