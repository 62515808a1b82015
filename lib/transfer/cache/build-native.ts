/**
 * The build engines of a feature cache: 'js' runs the frozen part's forward on the JavaScript thread; 'native'
 * traces it (tg.jit.trace, once per input shape) and runs each batch's forward on a worker thread (forwardAsync),
 * so the event loop stays free while the frozen part computes.
 */
import { noGrad } from '../../autograd';
import { TorchError } from '../../errors';
import type { ScriptModule } from '../../io/torchscript';
import { trace } from '../../jit/trace';
import { tidy } from '../../memory';
import type { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';

/** One batch's forward through the frozen part (in eval mode, no gradient): the output is the caller's to dispose. */
export type PrefixForward = (x: Tensor) => Tensor | Promise<Tensor>;

/** Which engine ran a build, and why when 'auto' fell back to 'js'. */
export interface EngineChoice {
  engine: 'native' | 'js';
  reason: string;
}

/** The frozen part's forward on the JavaScript thread, its intermediate activations freed at once. */
export function jsForward(prefix: Module): PrefixForward {
  return (x) => tidy(() => noGrad(() => prefix.forward(x) as Tensor));
}

/**
 * A forward that traces `prefix` on the first batch of each input shape and runs the trace on a worker thread.
 * With `fallback` (engine 'auto'), a frozen part that cannot be traced (random layers, a forward that is not
 * traceable) runs on the JavaScript thread instead, `choice` saying why; without it the trace's error is thrown as a
 * TorchError naming the engine.
 */
export class NativeForward {
  readonly choice: EngineChoice = { engine: 'native', reason: "engine 'native': the frozen part traced, forwards on a worker thread" };
  private readonly traces = new Map<string, ScriptModule>();
  private js?: PrefixForward;

  constructor(
    private readonly prefix: Module,
    private readonly fallback: boolean,
  ) {
    if (fallback) this.choice.reason = "engine 'auto': the frozen part traced, forwards on a worker thread";
  }

  /** The forward, as a function for the build loop. */
  get forward(): PrefixForward {
    return (x) => this.run(x);
  }

  /** Releases the traces' tensor handles (the frozen part's own tensors stay). Call once no forward is in flight. */
  dispose(): void {
    for (const t of this.traces.values()) t.dispose();
    this.traces.clear();
  }

  private run(x: Tensor): Tensor | Promise<Tensor> {
    if (this.js) return this.js(x);
    const key = x.shape.join(',');
    let traced = this.traces.get(key);
    if (!traced) {
      try {
        // each shape its own trace: a forward that reads a size into JavaScript records it as a constant; and a check
        // on another input of that shape: one that reads a value (item()) froze it, and differs there
        const other = otherInput(x);
        try {
          traced = trace(this.prefix, x, { checkInputs: [other] });
        } finally {
          other.dispose();
        }
      } catch (e) {
        if (!this.fallback || this.traces.size > 0) throw refusal(e);
        this.js = jsForward(this.prefix);
        this.choice.engine = 'js';
        this.choice.reason = `engine 'auto': the frozen part does not trace (${(e as Error).message}), forwards on the JavaScript thread`;
        return this.js(x);
      }
      this.traces.set(key, traced);
    }
    return traced.forwardAsync(x) as Promise<Tensor>;
  }
}

/** An input of x's shape and dtype with other values: rows reversed, and floats moved. */
function otherInput(x: Tensor): Tensor {
  return tidy(() => {
    const flipped = x.shape.length > 0 && x.shape[0] > 1 ? x.flip([0]) : x.clone();
    return ['float32', 'float64', 'float16', 'bfloat16'].includes(x.dtype) ? flipped.mul(1.5).add(0.25) : flipped;
  });
}

function refusal(e: unknown): TorchError {
  const code = (e instanceof TorchError && e.code) || 'ERR_NATIVE_ENGINE';
  return new TorchError(
    `cacheFeatures: engine 'native' cannot trace the frozen part (${(e as Error).message}); use engine 'js' (or 'auto')`,
    { code, cause: e },
  );
}
