/** tg.amp.autocast: runs a function with LibTorch's autocast on for a device, as `with torch.autocast(...)`. */
import { binding } from '../native';
import { TorchError } from '../errors';
import { isAvailable as cudaAvailable } from '../cuda';
import { checkKnownKeys } from '../known-keys';

/** The devices autocast applies to. */
export type AutocastDevice = 'cpu' | 'cuda';
/** The lower precisions autocast casts to (LibTorch 1.13's CPU autocast takes bfloat16 only). */
export type AutocastDtype = 'bfloat16' | 'float16';

/** autocast's options, as torch.autocast's arguments. */
export interface AutocastOptions {
  /** 'cpu' or 'cuda': the device whose ops are autocast (required, as torch.autocast's device_type). */
  deviceType: AutocastDevice;
  /** The lower precision (default 'bfloat16' on CPU, 'float16' on CUDA). */
  dtype?: AutocastDtype;
  /** false turns autocast off inside fn (a region that must run in float32 within an autocast one); default true. */
  enabled?: boolean;
}

/**
 * Runs fn with autocast on for `deviceType`, as `with torch.autocast(device_type, dtype)`: inside, ops on that device
 * follow PyTorch's autocast policy (matmuls and convolutions in the lower precision; reductions, losses and
 * softmax in float32). Returns fn's result. Nesting restores the outer state; the cast cache is cleared when the
 * outermost region ends. For an async fn, the returned promise settles after the state is restored: autocast is
 * per thread, so every op the JS thread runs until then is affected, including other callbacks that run while fn
 * awaits (do not interleave two async regions). Backward passes should run outside the region, as in PyTorch.
 * The state is restored when fn throws or its promise rejects. Ops that run on worker threads are not affected.
 * @example const loss = tg.amp.autocast(() => lossFn(net.forward(x), y), { deviceType: 'cpu' }); loss.backward();
 * @throws TypeError or RangeError for bad options; TorchError ERR_NO_CUDA for 'cuda' without a GPU; an error for a
 * dtype the device's autocast does not take (float16 on CPU with LibTorch 1.13).
 */
export function autocast<T>(fn: () => T, options: AutocastOptions): T {
  if (typeof fn !== 'function') throw new TypeError('autocast: expected a function to run');
  const { deviceType, dtype, enabled } = checkOptions(options);
  const prev = binding.autocastGet(deviceType);
  binding.autocastSet(deviceType, enabled, dtype);
  binding.autocastEnter();
  const restore = (): void => {
    binding.autocastExit();
    binding.autocastSet(deviceType, prev.enabled, prev.dtype);
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (v) => {
        restore();
        return v;
      },
      (e: unknown) => {
        restore();
        throw e;
      },
    ) as T;
  }
  restore();
  return result;
}

/** Whether autocast is on for a device on this thread, and its dtype (torch.is_autocast_enabled / get_autocast_dtype). */
export function autocastState(deviceType: AutocastDevice): { enabled: boolean; dtype: AutocastDtype } {
  checkDevice(deviceType);
  const s = binding.autocastGet(deviceType);
  return { enabled: s.enabled, dtype: s.dtype as AutocastDtype };
}

function checkDevice(d: unknown): asserts d is AutocastDevice {
  if (d !== 'cpu' && d !== 'cuda') throw new TypeError(`autocast: deviceType must be 'cpu' or 'cuda', got ${typeof d === 'string' ? `'${d}'` : String(d)}`);
}

function checkOptions(o: AutocastOptions): Required<AutocastOptions> {
  if (o === null || typeof o !== 'object') throw new TypeError("autocast: expected options { deviceType: 'cpu' | 'cuda', dtype?, enabled? }");
  checkKnownKeys(o, ['deviceType', 'dtype', 'enabled'], 'autocast');
  checkDevice(o.deviceType);
  const dtype = o.dtype ?? (o.deviceType === 'cpu' ? 'bfloat16' : 'float16');
  if (dtype !== 'bfloat16' && dtype !== 'float16') throw new RangeError(`autocast: dtype must be 'bfloat16' or 'float16', got ${String(o.dtype)}`);
  const enabled = o.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new TypeError(`autocast: enabled must be a boolean, got ${String(o.enabled)}`);
  if (o.deviceType === 'cuda' && enabled && !cudaAvailable())
    throw new TorchError("autocast: deviceType 'cuda' but CUDA is not available", { code: 'ERR_NO_CUDA' });
  return { deviceType: o.deviceType, dtype, enabled };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}
