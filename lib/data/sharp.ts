/** Loads sharp (the optional image decoder) on first use, with a clear error where it is not installed. */
import { TorchError } from '../errors';

/** The part of sharp's pipeline that torchgraft uses. */
export interface SharpInstance {
  metadata(): Promise<{ width?: number; height?: number; channels?: number; depth?: string; space?: string; format?: string }>;
  toColourspace(space: string): SharpInstance;
  pipelineColourspace(space: string): SharpInstance;
  raw(options?: { depth?: string }): SharpInstance;
  toBuffer(options: { resolveWithObject: true }): Promise<{ data: Buffer; info: { width: number; height: number; channels: number } }>;
}

/** sharp's entry function. */
export type SharpFactory = (input: Uint8Array, options: Record<string, unknown>) => SharpInstance;

let cached: SharpFactory | undefined;

/** sharp's factory, required once. @throws TorchError ERR_NATIVE_LOAD naming the fix when sharp cannot be loaded. */
export function loadSharp(): SharpFactory {
  if (cached) return cached;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('sharp') as SharpFactory | { default: SharpFactory };
    cached = typeof mod === 'function' ? mod : mod.default;
  } catch (e) {
    throw new TorchError(
      `image decoding needs the 'sharp' package, which could not be loaded (${(e as Error).message.split('\n')[0]}); ` +
        'install it with `npm install sharp` (prebuilt binaries for Linux, macOS and Windows)',
      { code: 'ERR_NATIVE_LOAD', cause: e },
    );
  }
  return cached!;
}
