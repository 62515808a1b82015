/**
 * Prints tensors the way PyTorch prints them: `tensor([[1.0000, 2.5000], ...], requires_grad=True)`.
 * A port of torch/_tensor_str.py (default print options): same formatter, summarising, line wrapping and suffixes.
 */
import type { Tensor } from './tensor';

const PRECISION = 4;
const THRESHOLD = 1000; // elements beyond which PyTorch summarises
const EDGE_ITEMS = 3; // values kept at each edge when summarising
const LINE_WIDTH = 80;

type Value = number | bigint;

// Python's '{:.Nf}': exact ties round half to even, where toFixed rounds them away from zero.
function fixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  const extra = 25;
  const long = Math.abs(v).toFixed(Math.min(100, digits + extra));
  const tail = long.slice(long.length - extra);
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (/^50*$/.test(tail)) {
    const kept = long.slice(0, long.length - extra).replace(/\.$/, '');
    if (Number(kept[kept.length - 1]) % 2 === 0) return sign + kept;
  }
  return Object.is(v, -0) ? '-' + s : s;
}

// Python's '{:.Ne}': two-digit exponent with sign.
function exponential(v: number, digits: number): string {
  const [m, e] = v.toExponential(digits).split('e');
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function nonFinite(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/** torch._tensor_str._Formatter: picks int, fixed or scientific mode and a common width from the printed values. */
class Formatter {
  private intMode = true;
  private sciMode = false;
  private maxWidth = 1;

  constructor(
    values: Value[],
    private readonly floating: boolean,
    private readonly boolean: boolean,
  ) {
    if (!floating) {
      for (const v of values) this.maxWidth = Math.max(this.maxWidth, this.plain(v).length);
      return;
    }
    const nz = (values as number[]).filter((v) => Number.isFinite(v) && v !== 0);
    if (nz.length === 0) return;
    const abs = nz.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    this.intMode = nz.every((v) => v === Math.ceil(v));
    const sci = max / min > 1000 || max > 1e8 || (!this.intMode && min < 1e-4);
    if (sci) {
      this.sciMode = true;
      for (const v of nz) this.maxWidth = Math.max(this.maxWidth, exponential(v, PRECISION).length);
    } else if (this.intMode) {
      for (const v of nz) this.maxWidth = Math.max(this.maxWidth, fixed(v, 0).length + 1);
    } else {
      for (const v of nz) this.maxWidth = Math.max(this.maxWidth, fixed(v, PRECISION).length);
    }
  }

  private plain(v: Value): string {
    if (this.boolean) return v ? 'True' : 'False';
    return String(v);
  }

  width(): number {
    return this.maxWidth;
  }

  format(v: Value): string {
    let ret: string;
    if (this.floating) {
      const x = v as number;
      if (!Number.isFinite(x)) ret = nonFinite(x);
      else if (this.sciMode) ret = exponential(x, PRECISION);
      else if (this.intMode) ret = fixed(x, 0) + '.';
      else ret = fixed(x, PRECISION);
    } else ret = this.plain(v);
    return ret.padStart(this.maxWidth);
  }
}

/** PyTorch-style string for a tensor. */
export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const ndim = shape.length;
  const floating = ['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype);
  const data = t.dataSync() as ArrayLike<Value>;
  const summarize = t.numel > THRESHOLD;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const indices = (n: number): (number | null)[] => {
    if (summarize && n > 2 * EDGE_ITEMS) {
      const out: (number | null)[] = [];
      for (let i = 0; i < EDGE_ITEMS; i++) out.push(i);
      out.push(null);
      for (let i = n - EDGE_ITEMS; i < n; i++) out.push(i);
      return out;
    }
    return Array.from({ length: n }, (_, i) => i);
  };

  // The formatter sees exactly the values that get printed (get_summarized_data).
  const printed: Value[] = [];
  const collect = (dim: number, offset: number): void => {
    if (dim === ndim) {
      printed.push(data[offset]);
      return;
    }
    for (const i of indices(shape[dim])) if (i !== null) collect(dim + 1, offset + i * strides[dim]);
  };
  const numeric = (v: Value): Value => (floating ? Number(v) : v);

  const indent = 'tensor('.length;
  let body: string;
  if (t.numel === 0) body = '[]';
  else {
    collect(0, 0);
    const fmt = new Formatter(printed.map(numeric), floating, t.dtype === 'bool');
    const render = (dim: number, offset: number, ind: number): string => {
      if (ndim === 0) return fmt.format(numeric(data[0]));
      const idx = indices(shape[dim]);
      if (dim === ndim - 1) {
        const perLine = Math.max(1, Math.floor((LINE_WIDTH - ind) / (fmt.width() + 2)));
        const items = idx.map((i) => (i === null ? ' ...' : fmt.format(numeric(data[offset + i]))));
        const lines: string[] = [];
        for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
        return '[' + lines.join(',\n' + ' '.repeat(ind + 1)) + ']';
      }
      const sep = ',' + '\n'.repeat(ndim - dim - 1) + ' '.repeat(ind + 1);
      return '[' + idx.map((i) => (i === null ? '...' : render(dim + 1, offset + i * strides[dim], ind + 1))).join(sep) + ']';
    };
    body = render(0, 0, indent);
  }

  const suffixes: string[] = [];
  if (t.device !== 'cpu') suffixes.push(`device='${t.device}'`);
  if (t.numel === 0) {
    if (ndim !== 1) suffixes.push(`size=(${shape.join(', ')}${ndim === 1 ? ',' : ''})`);
    if (t.dtype !== 'float32') suffixes.push(`dtype=torch.${t.dtype}`);
  } else if (t.dtype !== 'float32' && t.dtype !== 'int64' && t.dtype !== 'bool') suffixes.push(`dtype=torch.${t.dtype}`);
  const gradFn = (t as unknown as { _gradFn(): string | undefined })._gradFn();
  if (gradFn) suffixes.push(`grad_fn=<${gradFn}>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');

  // _add_suffixes: a suffix that would pass the line width goes on its own line
  let out = 'tensor(' + body;
  let lastLineLen = out.length - out.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLineLen + s.length + 2 > LINE_WIDTH) {
      out += ',\n' + ' '.repeat(indent) + s;
      lastLineLen = indent + s.length;
    } else {
      out += ', ' + s;
      lastLineLen += s.length + 2;
    }
  }
  return out + ')';
}
