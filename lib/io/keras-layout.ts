/**
 * Keras (and TF.js layers) weight layouts converted to PyTorch's, and Keras variable names to PyTorch's.
 * Shared by the Keras HDF5 and TF.js readers, which both store Keras layers' variables.
 */
import type { Tensor } from '../tensor';

/** One Keras variable of a layer, as stored. */
export interface KerasVariable {
  /** The stored name, e.g. `conv2d/kernel:0` or `dense_Dense1/kernel`. */
  stored: string;
  /** Path between the layer and the variable for nested layers (`['lstm_cell']`), usually empty. */
  sub: string[];
  /** The variable's own name: `kernel`, `bias`, `gamma`, `depthwise_kernel`, ... */
  variable: string;
  tensor: Tensor;
}

/** One converted tensor and how it was obtained. */
export interface ConvertedVariable {
  /** PyTorch-style dotted name, e.g. `conv2d.weight`. */
  name: string;
  tensor: Tensor;
  /** The stored name it comes from. */
  from: string;
  /** The layout change: `'transpose'`, `'HWIO->OIHW'`, `'kept'`, ... */
  layout: string;
  /** Stored (Keras) shape. */
  kerasShape: number[];
}

// Recurrent layers keep Keras' gate order and layout: PyTorch's GRU also differs in where the reset gate applies.
const RECURRENT = new Set(['LSTM', 'GRU', 'SimpleRNN', 'Bidirectional', 'ConvLSTM2D', 'RNN', 'CuDNNGRU', 'CuDNNLSTM']);

/** Splits a stored Keras weight name into its sub-path and variable name, dropping `:0` and the leading layer name. */
export function splitKerasName(layer: string, stored: string): { sub: string[]; variable: string } {
  const parts = stored.replace(/:\d+$/, '').split('/').filter((p) => p !== '');
  const variable = parts.pop() ?? stored;
  if (parts.length && parts[0] === layer) parts.shift();
  return { sub: parts, variable };
}

/** How one variable becomes a PyTorch tensor: its name, an optional permutation, then its final shape. */
export interface VariablePlan {
  /** PyTorch-style dotted name, e.g. `conv2d.weight`. */
  name: string;
  /** The stored name it comes from. */
  from: string;
  /** The layout change: `'transpose'`, `'HWIO->OIHW'`, `'kept'`, ... */
  layout: string;
  /** Stored (Keras) shape. */
  kerasShape: number[];
  /** Dimension order applied to the stored tensor (made contiguous), when the layout changes. */
  perm?: number[];
  /** The final shape (after `perm`, a reshape when it differs). */
  shape: number[];
}

// Keras kernels put the output channel last; PyTorch puts it first (and input channels second).
const KERNEL_PERMUTATION: Record<number, [number[], string]> = {
  2: [[1, 0], 'transpose'],
  3: [[2, 1, 0], 'KIO->OIK'],
  4: [[3, 2, 0, 1], 'HWIO->OIHW'],
  5: [[4, 3, 0, 1, 2], 'DHWIO->OIDHW'],
};

const permutedShape = (s: number[], perm: number[]): number[] => perm.map((d) => s[d]);

/** (H, W, Cin, mult) -> (Cin*mult, 1, H, W): a grouped conv with groups=Cin, output channel c*mult+m. */
function depthwise(s: number[]): { perm?: number[]; shape: number[]; layout: string } {
  if (s.length === 4) return { perm: [2, 3, 0, 1], shape: [s[2] * s[3], 1, s[0], s[1]], layout: 'HWCM->(C*M)1HW' };
  if (s.length === 3) return { perm: [1, 2, 0], shape: [s[1] * s[2], 1, s[0]], layout: 'KCM->(C*M)1K' };
  return { shape: s, layout: 'kept' };
}

/**
 * Plans one layer's conversion to PyTorch names and layouts from its variables' stored names and shapes, without
 * touching data (the HDF5 worker applies it to bytes, convertLayer to tensors). `className` is the Keras layer class
 * when the file records it.
 */
export function planLayer(layer: string, className: string | undefined, vars: { stored: string; sub: string[]; variable: string; shape: number[] }[]): VariablePlan[] {
  const names = new Set(vars.map((v) => v.variable));
  const recurrent = (className !== undefined && RECURRENT.has(className)) || names.has('recurrent_kernel');
  const separable = names.has('pointwise_kernel');
  return vars.map((v) => {
    const kerasShape = [...v.shape];
    const base = [layer, ...v.sub];
    const out = (suffix: string, layout: string, perm?: number[], shape?: number[]): VariablePlan => ({
      name: [...base, suffix].join('.'), from: v.stored, layout, kerasShape, perm, shape: shape ?? (perm ? permutedShape(kerasShape, perm) : kerasShape),
    });
    if (recurrent) return out(v.variable, 'kept');
    switch (v.variable) {
      case 'kernel': {
        const perm = KERNEL_PERMUTATION[kerasShape.length];
        if (!perm) return out('weight', 'kept');
        // Conv*Transpose kernels are (..., out, in); the same permutation gives PyTorch's (in, out, ...).
        const layout = className?.endsWith('Transpose') && kerasShape.length > 2 ? perm[1].replace('IO->OI', 'OI->IO') : perm[1];
        return out('weight', layout, perm[0]);
      }
      case 'bias':
        return out(separable ? 'pointwise.bias' : 'bias', 'same');
      case 'depthwise_kernel': {
        const d = depthwise(kerasShape);
        return out(separable ? 'depthwise.weight' : 'weight', d.layout, d.perm, d.shape);
      }
      case 'pointwise_kernel': {
        const perm = KERNEL_PERMUTATION[kerasShape.length];
        return perm ? out('pointwise.weight', perm[1], perm[0]) : out('pointwise_kernel', 'kept');
      }
      case 'gamma':
        return out('weight', 'same');
      case 'beta':
        return out('bias', 'same');
      case 'moving_mean':
        return out('running_mean', 'same');
      case 'moving_variance':
        return out('running_var', 'same');
      case 'embeddings':
        return out('weight', 'same');
      default:
        return out(v.variable, 'kept');
    }
  });
}

/** `t` laid out as `plan` says (permuted and made contiguous, then reshaped); `t` is consumed. */
function applyPlan(t: Tensor, plan: VariablePlan): Tensor {
  let cur = t;
  if (plan.perm) {
    const p = cur.permute(plan.perm);
    const c = p.contiguous();
    p.dispose();
    cur.dispose();
    cur = c;
  }
  if (plan.shape.length !== cur.shape.length || plan.shape.some((d, i) => d !== cur.shape[i])) {
    const r = cur.reshape(plan.shape);
    cur.dispose();
    cur = r;
  }
  return cur;
}

/**
 * Converts one layer's variables to PyTorch names and layouts. Tensors handed in are consumed (returned as is or
 * disposed after conversion). `className` is the Keras layer class when the file records it.
 */
export function convertLayer(layer: string, className: string | undefined, vars: KerasVariable[]): ConvertedVariable[] {
  const plans = planLayer(layer, className, vars.map((v) => ({ ...v, shape: [...v.tensor.shape] })));
  return plans.map((plan, i) => ({ name: plan.name, tensor: applyPlan(vars[i].tensor, plan), from: plan.from, layout: plan.layout, kerasShape: plan.kerasShape }));
}

/** Layer descriptions from a Keras `model_config` / TF.js `modelTopology`: name -> { className, config }. */
export function layersOfConfig(topology: unknown): Map<string, { className: string; config: Record<string, unknown> }> {
  const out = new Map<string, { className: string; config: Record<string, unknown> }>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > 32 || node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    // Keras JSON: { class_name, config: { name, layers: [...] } }; old Sequential: config is the layer list itself.
    const cfg = n.config;
    if (typeof n.class_name === 'string' && cfg && typeof cfg === 'object' && !Array.isArray(cfg)) {
      const c = cfg as Record<string, unknown>;
      if (typeof c.name === 'string' && !out.has(c.name)) out.set(c.name, { className: n.class_name, config: c });
      if (Array.isArray(c.layers)) for (const l of c.layers) visit(l, depth + 1);
      if (c.layer) visit(c.layer, depth + 1);
    } else if (Array.isArray(cfg)) for (const l of cfg) visit(l, depth + 1);
    if (n.model_config) visit(n.model_config, depth + 1);
  };
  visit(topology, 0);
  return out;
}
