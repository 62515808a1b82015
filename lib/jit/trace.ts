/**
 * `tg.jit.trace`: LibTorch's tracer records what a module's `forward` (TypeScript, any mix of tg.nn layers and your
 * own code) does on example inputs, as PyTorch's `torch.jit.trace` does for Python; the result is a ScriptModule over
 * the same parameter and buffer tensors, savable as a TorchScript archive that Python's `torch.jit.load` runs.
 */
import { binding } from '../native';
import { TorchError } from '../errors';
import { isTensor, type Tensor } from '../tensor';
import { tidy } from '../memory';
import type { Module } from '../nn/module';
import { ScriptModule } from '../io/torchscript';
import { whileTracing } from './trace-state';

/** Options of {@link trace}. */
export interface TraceOptions {
  /**
   * Record random ops (Dropout in training mode, `bernoulli`, `rand`...) into the trace anyway. Off by default: a
   * traced training-mode Dropout draws fresh masks at each run, which is rarely what a trace of a module is meant for;
   * call `module.eval()` first, or pass `true`.
   */
  allowRandom?: boolean;
}

/**
 * Traces `module.forward(...inputs)` into a TorchScript module. Control flow is recorded as taken on these inputs
 * (a branch on a tensor's value, or a JS number read from one with `item()`, becomes a constant), as in PyTorch:
 * reading values into JavaScript during the trace emits a `TracerWarning` (process 'warning' event).
 * @example
 * const traced = tg.jit.trace(net.eval(), tg.randn([1, 784]));
 * await traced.save('net.pt');   // torch.jit.load('net.pt') in Python
 */
export function trace(module: Module, inputs: Tensor | Tensor[], options: TraceOptions = {}): ScriptModule {
  if (module === null || typeof module !== 'object' || typeof module.forward !== 'function' || typeof module.namedParameters !== 'function')
    throw new TypeError('jit.trace: expected a tg.nn.Module');
  const list = isTensor(inputs) ? [inputs] : inputs;
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => isTensor(t)))
    throw new TypeError('jit.trace: exampleInputs must be a Tensor or a non-empty array of Tensors');
  if (options === null || typeof options !== 'object') throw new TypeError('jit.trace: options must be an object such as { allowRandom }');
  const params = [...module.namedParameters()];
  const buffers = [...module.namedBuffers()];
  const { module: native, nondeterministic } = whileTracing(() =>
    tidy(() => binding.jitTrace(params, buffers, list, (...xs: Tensor[]) => module.forward(...xs) as Tensor | Tensor[], module.training)),
  );
  if (nondeterministic.length && !options.allowRandom)
    throw new TorchError(
      `jit.trace: the traced forward is random (${[...new Set(nondeterministic)].join(', ')}): call module.eval() before tracing, or pass { allowRandom: true }`,
      { code: 'ERR_TRACE_RANDOM' },
    );
  return new ScriptModule(native);
}
