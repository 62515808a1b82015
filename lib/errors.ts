/** Error classes thrown by torchgraft. */

/**
 * An error LibTorch reported (a shape mismatch, an unsupported dtype, …) or a library-level failure.
 * Mistakes in argument types are `TypeError`; indices and dimensions out of range are `RangeError`.
 */
export class TorchError extends Error {
  /** A stable code where one applies, e.g. `ERR_TENSOR_DISPOSED`, `ERR_NO_CUDA`. */
  code?: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'TorchError';
    if (options?.code) this.code = options.code;
  }
}
