/**
 * `tg.jit.trace`: LibTorch's tracer records what a module's `forward` (TypeScript, any mix of tg.nn layers and your
 * own code) does on example inputs, as PyTorch's `torch.jit.trace` does for Python; the result is a ScriptModule over
 * the same parameter and buffer tensors, savable as a TorchScript archive that Python's `torch.jit.load` runs.
 */
import { binding } from '../native';
import { TorchError } from '../errors';
import { isTensor, type Tensor } from '../tensor';
import { tidy } from '../memory';
import { noGrad } from '../autograd';
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
  /**
   * Other inputs to check the trace with (PyTorch's `check_inputs`): each is run through the trace and through the
   * module's own `forward`; outputs that differ by more than `checkTolerance` mean the trace froze something that
   * depends on the input (a branch, a JS value) and throw ERR_TRACE_DIVERGES. Random traces are not checked.
   */
  checkInputs?: (Tensor | Tensor[])[];
  /** Largest absolute difference the check allows (default 1e-5). */
  checkTolerance?: number;
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
  if (options.checkInputs !== undefined && !Array.isArray(options.checkInputs))
    throw new TypeError('jit.trace: checkInputs must be an array of inputs (each a Tensor or an array of Tensors)');
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
  const traced = new ScriptModule(native);
  if (options.checkInputs !== undefined && !nondeterministic.length) checkTrace(module, traced, options.checkInputs, options.checkTolerance ?? 1e-5);
  return traced;
}

/** The largest |got - want|, where NaN against NaN and an infinity against the same infinity count as equal (their difference is NaN). */
function largestDifference(got: Tensor, want: Tensor): number {
  if (got.numel === 0) return 0;
  const same = got.eq(want).logicalOr(got.isnan().logicalAnd(want.isnan()));
  return got.sub(want).abs().maskedFill(same, 0).max().item() as number;
}

/** Runs each check input through the trace and the module, throwing where they differ (module and trace left as they were). */
function checkTrace(module: Module, traced: ScriptModule, checks: unknown, tolerance: number): void {
  if (!Array.isArray(checks)) throw new TypeError('jit.trace: checkInputs must be an array of inputs (each a Tensor or an array of Tensors)');
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) throw new RangeError(`jit.trace: checkTolerance must be a number >= 0, got ${String(tolerance)}`);
  checks.forEach((c, i) => {
    const args = isTensor(c) ? [c] : c;
    if (!Array.isArray(args) || !args.every((t) => isTensor(t))) throw new TypeError(`jit.trace: checkInputs[${i}] must be a Tensor or an array of Tensors`);
    const worst = tidy(() =>
      noGrad(() => {
        const outputs = (v: unknown): Tensor[] => (isTensor(v) ? [v] : (v as Tensor[]));
        const expected = outputs(module.forward(...(args as Tensor[])));
        const got = outputs(traced.forward(...(args as Tensor[])));
        if (expected.length !== got.length) return Infinity;
        let max = 0;
        expected.forEach((e, k) => {
          const g = got[k];
          max = Math.max(max, g.shape.join() !== e.shape.join() ? Infinity : largestDifference(g, e));
        });
        return max;
      }),
    );
    if (!(worst <= tolerance))
      throw new TorchError(
        `jit.trace: the trace does not reproduce forward on checkInputs[${i}] (largest difference ${worst}): forward depends on ` +
          'something the trace froze as taken on the example (a branch on a value or a shape, a JavaScript variable); trace a module without it, or keep it eager',
        { code: 'ERR_TRACE_DIVERGES' },
      );
  });
}
