/** Module.summary(): a text table of the module tree, with output shapes traced from one forward pass. */
import { Tensor, isTensor } from '../tensor';
import type { DType } from '../dtype';
import { zeros } from '../creation';
import { tidy } from '../memory';
import { noGrad } from '../autograd';
import type { Module } from './module';
import { hasFrozenStatistics } from './freeze';
import { TorchError } from '../errors';

/** What summary() runs forward on: one input shape (batch included), several shapes, or tensors. */
export type SummaryInput = number[] | number[][] | Tensor | Tensor[];

function shapeText(v: unknown): string {
  if (isTensor(v)) return `[${v.shape.join(', ')}]`;
  if (Array.isArray(v)) return `(${v.map(shapeText).join(', ')})`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${shapeText(x)}`).join(', ')}}`;
  return '-';
}

function makeInputs(module: Module, input: SummaryInput, dtype: DType | undefined): Tensor[] {
  if (isTensor(input)) return [input];
  if (!Array.isArray(input) || input.length === 0) throw new TypeError('summary(): expected an input shape such as [1, 3, 224, 224], several shapes, or tensors');
  if (input.every((x) => isTensor(x))) return input as Tensor[];
  const shapes = (input.every((x) => typeof x === 'number') ? [input] : input) as unknown[];
  const first = module.parameters()[0] ?? module.buffers()[0];
  return shapes.map((s) => {
    if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0))
      throw new TypeError(`summary(): input shapes must be arrays of non-negative integers, got ${JSON.stringify(s)}`);
    return zeros(s, { dtype: dtype ?? (first && first.dtype !== 'int64' ? first.dtype : 'float32'), device: first?.device });
  });
}

/** Runs one forward pass in eval mode without grad and records each module's first output shape. */
function traceShapes(module: Module, input: SummaryInput, dtype: DType | undefined): Map<Module, string> {
  const shapes = new Map<Module, string>();
  const mods = module.modules();
  const modes = mods.map((m) => m.training);
  const saved = mods.map((m) => Object.getOwnPropertyDescriptor(m, 'forward'));
  for (const m of mods) {
    const impl = m.forward;
    // An own property shadows the prototype's forward for this pass only; restored below.
    Object.defineProperty(m, 'forward', {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => {
        const out = impl.apply(m, args);
        if (!shapes.has(m)) shapes.set(m, shapeText(out));
        return out;
      },
    });
  }
  try {
    module.eval();
    tidy(() => {
      noGrad(() => {
        const xs = makeInputs(module, input, dtype);
        module.call(...(xs as never[]));
      });
    });
  } catch (e) {
    throw new TorchError(`summary(): the forward pass on the given input failed: ${(e as Error).message}`, { code: 'ERR_SUMMARY', cause: e });
  } finally {
    mods.forEach((m, i) => {
      m.training = modes[i];
      const d = saved[i];
      if (d) Object.defineProperty(m, 'forward', d);
      else delete (m as { forward?: unknown }).forward;
    });
  }
  return shapes;
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

/** Implements Module.summary(); the Trainable column reads yes, partly, frozen (parameters, or BatchNorm statistics), or '-'. */
export function summarize(module: Module, input: SummaryInput | undefined, options: { dtype?: DType } = {}): string {
  const shapes = input === undefined ? undefined : traceShapes(module, input, options.dtype);
  const rows: string[][] = [];
  for (const [path, m] of module.namedModules()) {
    const own = [...m._parameters.values()].filter((p): p is Tensor => !!p);
    const count = own.reduce((s, p) => s + p.numel, 0);
    const trainable = own.filter((p) => p.requiresGrad).length;
    const statsFrozen = hasFrozenStatistics(m) && m.frozenStatistics;
    const train = own.length === 0 ? (statsFrozen ? 'frozen' : '-') : trainable === own.length ? 'yes' : trainable === 0 ? 'frozen' : 'partly';
    const row = [path === '' ? '(root)' : path, m.constructor.name];
    if (shapes) row.push(shapes.get(m) ?? '-');
    row.push(own.length ? fmtInt(count) : '0', train);
    rows.push(row);
  }
  const head = ['Name', 'Type', ...(shapes ? ['Output shape'] : []), 'Params', 'Trainable'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = new Set([head.length - 2]);
  const line = (r: string[]) => r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const total = module.numParameters();
  const trainable = module.numParameters({ trainableOnly: true });
  return [
    rule,
    line(head),
    rule,
    ...rows.map(line),
    rule,
    `Total params: ${fmtInt(total)}`,
    `Trainable params: ${fmtInt(trainable)}`,
    `Non-trainable params: ${fmtInt(total - trainable)}`,
    rule,
  ].join('\n');
}
