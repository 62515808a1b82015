/** What the native addon was built against, and the CPU thread setting. */
import { binding } from './native';

/** The LibTorch version the addon was compiled with, whether it has CUDA, and its thread count. */
export function buildInfo(): { torchVersion: string; cuda: boolean; cxx11Abi: boolean; napiVersion: number; threads: number } {
  return binding.buildInfo();
}
/** Sets the number of threads LibTorch uses for CPU ops. */
export function setNumThreads(n: number): void {
  binding.setNumThreads(n);
}
