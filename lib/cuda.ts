/** tg.cuda: whether a GPU can be used, and how many. */
import { binding } from './native';

/** True when this build of LibTorch has CUDA and a GPU is present. */
export function isAvailable(): boolean {
  return binding.cudaIsAvailable();
}
/** Number of visible GPUs (0 without CUDA). */
export function deviceCount(): number {
  return binding.cudaDeviceCount();
}
/** Waits until queued GPU work is done (for timing). */
export function synchronize(): void {
  binding.cudaSynchronize();
}
