/** What the native addon was built against, and the CPU thread setting. */
import { binding } from './native';
import type { NativeBuildInfo } from './binding';

/** The LibTorch version the addon was compiled with, whether it has CUDA, and its thread count. */
export function buildInfo(): NativeBuildInfo {
  return binding.buildInfo();
}
/** Sets the number of threads LibTorch uses for CPU ops, OpenBLAS's pool included where LibTorch uses OpenBLAS. */
export function setNumThreads(n: number): void {
  binding.setNumThreads(n);
}
