/** Prints tensors the way PyTorch prints them: `tensor([[1.0000, 2.5000], ...], requires_grad=True)`. */
import type { Tensor } from './tensor';

const EDGE = 3; // values kept at each edge when summarising
const THRESHOLD = 1000; // elements beyond which PyTorch summarises

function formatter(values: number[], floating: boolean): (v: number) => string {
  if (!floating) return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => v === Math.trunc(v));
  const abs = finite.map((v) => Math.abs(v)).filter((v) => v !== 0);
  const maxA = abs.length ? Math.max(...abs) : 0;
  const minA = abs.length ? Math.min(...abs) : 0;
  const sci = abs.length > 0 && (maxA / minA > 1000 || maxA > 1e8 || minA < 1e-4);
  const one = (v: number): string => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (sci) {
      const [m, e] = v.toExponential(4).split('e');
      const exp = Number(e);
      return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    }
    if (allInt) return `${v.toFixed(0)}.`;
    return v.toFixed(4);
  };
  return one;
}

/** PyTorch-style string for a tensor. */
export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const floating = ['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype);
  const raw = Array.from(t.dataSync() as ArrayLike<number | bigint>, (v) => Number(v));
  const summarise = raw.length > THRESHOLD;
  const fmt =
    t.dtype === 'bool'
      ? (v: number) => (v ? 'True' : 'False')
      : formatter(summarise ? raw.filter((_, i) => i < 2 * EDGE || i >= raw.length - 2 * EDGE) : raw, floating);
  const width = Math.max(1, ...raw.slice(0, 10000).map((v) => fmt(v).length));
  const cell = (v: number) => fmt(v).padStart(width);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const indent = 'tensor('.length;
  const render = (dim: number, offset: number, pad: number): string => {
    if (shape.length === 0) return fmt(raw[0]);
    const n = shape[dim];
    const idx: (number | null)[] = [];
    if (summarise && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    if (dim === shape.length - 1) {
      return '[' + idx.map((i) => (i === null ? '...' : cell(raw[offset + i]))).join(', ') + ']';
    }
    const sep = ',' + '\n'.repeat(shape.length - dim - 1) + ' '.repeat(pad + 1);
    return '[' + idx.map((i) => (i === null ? '...' : render(dim + 1, offset + i * strides[dim], pad + 1))).join(sep) + ']';
  };
  const extras: string[] = [];
  if (t.device !== 'cpu') extras.push(`device='${t.device}'`);
  if (t.dtype !== 'float32' && t.dtype !== 'int64' && t.dtype !== 'bool') extras.push(`dtype=torch.${t.dtype}`);
  if (t.numel === 0) extras.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
  if (t.requiresGrad) extras.push(t.isLeaf ? 'requires_grad=True' : 'grad_fn=<...>');
  const body = t.numel === 0 ? '[]' : render(0, 0, indent);
  return `tensor(${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
}
