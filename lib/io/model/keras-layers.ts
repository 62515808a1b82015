/**
 * Keras layer classes mapped to tg.nn modules, built from a layer's config and its weights' (already converted,
 * PyTorch-layout) shapes. A layer the builder cannot build gives a reason instead, so all of them can be listed at once.
 */
import type { Tensor } from '../../tensor';
import { Module } from '../../nn/module';
import { Sequential } from '../../nn/sequential';
import { Linear } from '../../nn/layers/linear';
import { Conv1d, Conv2d } from '../../nn/layers/conv';
import { BatchNorm1d, BatchNorm2d } from '../../nn/layers/batchnorm';
import { Dropout } from '../../nn/layers/dropout';
import { Embedding } from '../../nn/layers/embedding';
import { MaxPool2d, AvgPool2d } from '../../nn/layers/pooling';
import { Identity } from '../../nn/layers/shape';
import { ZeroPad2d } from '../../nn/layers/padding';
import { Add, Concatenate, Multiply } from '../../nn/layers/merge';
import { ActivationFn, KerasActivation, kerasActivation } from './keras-activations';
import { KerasGRU, KerasLSTM } from './keras-recurrent';
import { GlobalPool1d, GlobalPool2d, KerasFlatten, KerasReLU, KerasReshape, Rescaling, SamePool2d } from './keras-shape-layers';

/** One Keras layer's config as the file records it. */
export interface KerasLayerConfig {
  className: string;
  config: Record<string, unknown>;
}

/** A built layer: its module (registered under the Keras name) and how the graph runs it. */
export interface BuiltLayer {
  module: Module;
  /** Applied after the module (Keras' `activation=` of Dense and the convolutions). */
  activation?: ActivationFn;
  /** The module works on the last axis in Keras' order (Dense): a 4-D NCHW input is run NHWC and permuted back. */
  lastAxis?: boolean;
  /** A Keras (N, L, C) input runs as (N, C, L) (BatchNormalization over a sequence). */
  channelsSecond?: boolean;
  /** The module takes all inbound tensors (merge layers) rather than one. */
  merge?: boolean;
  /** Parameters the file may lack and that keep their initial, frozen value (BatchNormalization without scale or center). */
  fixed?: string[];
  /** Keras' Concatenate axis, mapped to the internal layout at run time. */
  concatAxis?: number;
}

/** What the builder knows when it builds a layer. */
export interface LayerContext {
  name: string;
  /** The converted weight's shape for `<layer>.<suffix>` (`weight`, `bias`, `running_mean`, `depthwise.weight`...). */
  shape(suffix: string): number[] | undefined;
  /** Every weight suffix the file has for this layer (`kernel`, `gru_cell.kernel`, ...). */
  suffixes: string[];
  /** The rank of the layer's (first) input in Keras' terms when known. */
  inRank?: number;
}

type Build = (c: Record<string, unknown>, ctx: LayerContext) => BuiltLayer | string;

const pair = (v: unknown, fallback: number[]): number[] => (typeof v === 'number' ? [v, v] : Array.isArray(v) ? (v as number[]) : fallback);

function activationOf(c: Record<string, unknown>): ActivationFn | string {
  const a = kerasActivation(c.activation);
  return a ?? `activation ${JSON.stringify(c.activation)}`;
}

function checkConv(c: Record<string, unknown>): string | undefined {
  if (c.data_format !== undefined && c.data_format !== 'channels_last') return `data_format ${JSON.stringify(c.data_format)}`;
  if (c.padding !== 'valid' && c.padding !== 'same') return `padding ${JSON.stringify(c.padding)}`;
  const s = pair(c.strides, [1, 1]);
  const d = pair(c.dilation_rate, [1, 1]);
  if (s.some((v) => v !== 1) && d.some((v) => v !== 1)) return 'strides and dilation_rate both above 1';
  return undefined;
}

function conv(c: Record<string, unknown>, ctx: LayerContext, depthwise: boolean): BuiltLayer | string {
  const bad = checkConv(c);
  if (bad) return bad;
  const act = activationOf(c);
  if (typeof act === 'string') return act;
  const w = ctx.shape('weight');
  if (!w || w.length !== 4) return 'no 4-D kernel in the file';
  const bias = ctx.shape('bias') !== undefined;
  const mult = depthwise ? Number(c.depth_multiplier ?? 1) : 1;
  const groups = depthwise ? w[0] / mult : Number(c.groups ?? 1);
  const inC = depthwise ? groups : w[1] * groups;
  const o = { stride: pair(c.strides, [1, 1]), padding: c.padding as 'same' | 'valid', dilation: pair(c.dilation_rate, [1, 1]), bias, groups };
  return { module: new Conv2d(inC, w[0], [w[2], w[3]], o), activation: act };
}

function pool(mode: 'avg' | 'max'): Build {
  return (c) => {
    if (c.data_format !== undefined && c.data_format !== 'channels_last') return `data_format ${JSON.stringify(c.data_format)}`;
    const k = pair(c.pool_size, [2, 2]);
    const s = c.strides === null || c.strides === undefined ? k : pair(c.strides, k);
    if (c.padding === 'same') return { module: new SamePool2d(mode, k, s) };
    if (c.padding !== undefined && c.padding !== 'valid') return `padding ${JSON.stringify(c.padding)}`;
    return { module: mode === 'max' ? new MaxPool2d(k, { stride: s }) : new AvgPool2d(k, { stride: s }) };
  };
}

function globalPool(mode: 'avg' | 'max'): Build {
  return (c) => {
    if (c.data_format !== undefined && c.data_format !== 'channels_last') return `data_format ${JSON.stringify(c.data_format)}`;
    return { module: new GlobalPool2d(mode, c.keepdims === true) };
  };
}

/** ZeroPadding2D's padding: int, [h, w] or [[top, bottom], [left, right]] -> ZeroPad2d's [left, right, top, bottom]. */
function zeroPadding(p: unknown): number[] | undefined {
  if (typeof p === 'number') return [p, p, p, p];
  if (!Array.isArray(p) || p.length !== 2) return undefined;
  if (p.every((v) => typeof v === 'number')) return [p[1], p[1], p[0], p[0]];
  const [h, w] = p as number[][];
  if (!Array.isArray(h) || !Array.isArray(w)) return undefined;
  return [w[0], w[1], h[0], h[1]];
}

/** GRU / LSTM with Keras' weights as stored (a cell sub-path such as `gru_cell` becomes a child module). */
function recurrent(kind: 'GRU' | 'LSTM'): Build {
  return (c, ctx) => {
    for (const k of ['stateful', 'return_state', 'unroll'] as const) if (c[k] === true) return `${k} true`;
    if (Number(c.dropout ?? 0) !== 0 || Number(c.recurrent_dropout ?? 0) !== 0) return 'dropout or recurrent_dropout';
    const activation = kerasActivation(c.activation ?? 'tanh');
    const recurrentActivation = kerasActivation(c.recurrent_activation ?? 'sigmoid');
    if (!activation || !recurrentActivation) return `activation ${JSON.stringify(c.activation)} / ${JSON.stringify(c.recurrent_activation)}`;
    const kernel = ctx.suffixes.find((s) => s === 'kernel' || s.endsWith('.kernel'));
    if (!kernel) return 'no kernel in the file';
    const prefix = kernel.slice(0, -'kernel'.length);
    const k = ctx.shape(kernel) as number[];
    const units = Number(c.units);
    if (!Number.isInteger(units) || k.length !== 2 || k[1] !== (kind === 'GRU' ? 3 : 4) * units) return `a kernel of shape [${k.join(', ')}] for ${String(c.units)} units`;
    const resetAfter = kind === 'GRU' && ctx.shape(`${prefix}bias`)?.length === 2;
    const o = {
      activation, recurrentActivation, returnSequences: c.return_sequences === true, goBackwards: c.go_backwards === true,
      bias: ctx.shape(`${prefix}bias`) !== undefined, resetAfter,
    };
    if (kind === 'GRU' && c.reset_after === true && !resetAfter && o.bias) return 'reset_after true with a 1-D bias';
    const cell = kind === 'GRU' ? new KerasGRU(k[0], units, o) : new KerasLSTM(k[0], units, o);
    if (prefix === '') return { module: cell };
    const sub = prefix.slice(0, -1);
    if (sub.includes('.')) return `weights nested as '${prefix}'`;
    return { module: new Sequential({ [sub]: cell }) };
  };
}

const BUILDERS: Record<string, Build> = {
  InputLayer: () => ({ module: new Identity() }),
  Dense: (c, ctx) => {
    const act = activationOf(c);
    if (typeof act === 'string') return act;
    const w = ctx.shape('weight');
    if (!w || w.length !== 2) return 'no 2-D kernel in the file';
    return { module: new Linear(w[1], w[0], { bias: ctx.shape('bias') !== undefined }), activation: act, lastAxis: true };
  },
  Conv2D: (c, ctx) => conv(c, ctx, false),
  Conv1D: (c, ctx) => {
    if (c.data_format !== undefined && c.data_format !== 'channels_last') return `data_format ${JSON.stringify(c.data_format)}`;
    if (c.padding !== 'valid' && c.padding !== 'same') return `padding ${JSON.stringify(c.padding)}`;
    const act = activationOf(c);
    if (typeof act === 'string') return act;
    const w = ctx.shape('weight');
    if (!w || w.length !== 3) return 'no 3-D kernel in the file';
    const g = Number(c.groups ?? 1);
    const o = { stride: pair(c.strides, [1])[0], padding: c.padding as 'same' | 'valid', dilation: pair(c.dilation_rate, [1])[0], bias: ctx.shape('bias') !== undefined, groups: g };
    return { module: new Conv1d(w[1] * g, w[0], w[2], o), activation: act, channelsSecond: true };
  },
  GlobalAveragePooling1D: (c) => (c.data_format === 'channels_first' ? 'data_format "channels_first"' : { module: new GlobalPool1d('avg', c.keepdims === true) }),
  GlobalMaxPooling1D: (c) => (c.data_format === 'channels_first' ? 'data_format "channels_first"' : { module: new GlobalPool1d('max', c.keepdims === true) }),
  DepthwiseConv2D: (c, ctx) => conv(c, ctx, true),
  SeparableConv2D: (c, ctx) => {
    const bad = checkConv(c);
    if (bad) return bad;
    const act = activationOf(c);
    if (typeof act === 'string') return act;
    const dw = ctx.shape('depthwise.weight');
    const pw = ctx.shape('pointwise.weight');
    if (!dw || !pw) return 'no depthwise/pointwise kernels in the file';
    const inC = dw[0] / Number(c.depth_multiplier ?? 1);
    const depthwise = new Conv2d(inC, dw[0], [dw[2], dw[3]], {
      stride: pair(c.strides, [1, 1]), padding: c.padding as 'same' | 'valid', dilation: pair(c.dilation_rate, [1, 1]), groups: inC, bias: false,
    });
    const pointwise = new Conv2d(pw[1], pw[0], 1, { bias: ctx.shape('pointwise.bias') !== undefined });
    return { module: new Sequential({ depthwise, pointwise }), activation: act };
  },
  BatchNormalization: (c, ctx) => {
    const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
    const rank = ctx.inRank;
    if (axis.length !== 1 || (rank !== undefined && axis[0] !== -1 && axis[0] !== rank - 1)) return `axis ${JSON.stringify(c.axis)} (only the last, channels axis)`;
    const n = ctx.shape('running_mean')?.[0];
    if (n === undefined) return 'no moving_mean in the file';
    const affine = ctx.shape('weight') !== undefined || ctx.shape('bias') !== undefined;
    const o = { eps: Number(c.epsilon ?? 1e-3), momentum: 1 - Number(c.momentum ?? 0.99), affine };
    // scale=False / center=False: gamma 1 / beta 0, not trained (as in Keras)
    const fixed = affine ? ['weight', 'bias'].filter((k) => ctx.shape(k) === undefined) : [];
    const module = rank === 2 || rank === 3 ? new BatchNorm1d(n, o) : new BatchNorm2d(n, o);
    for (const k of fixed) (module as unknown as Record<string, Tensor>)[k].requiresGrad = false;
    return { module, fixed, channelsSecond: rank === 3 };
  },
  Activation: (c) => (kerasActivation(c.activation) ? { module: new KerasActivation(c.activation as string) } : `activation ${JSON.stringify(c.activation)}`),
  ReLU: (c) => {
    if (Number(c.threshold ?? 0) !== 0) return `threshold ${String(c.threshold)}`;
    const max = c.max_value === null || c.max_value === undefined ? null : Number(c.max_value);
    return { module: new KerasReLU(max, Number(c.negative_slope ?? 0)) };
  },
  ZeroPadding2D: (c) => {
    if (c.data_format !== undefined && c.data_format !== 'channels_last') return `data_format ${JSON.stringify(c.data_format)}`;
    const p = zeroPadding(c.padding);
    return p ? { module: new ZeroPad2d(p) } : `padding ${JSON.stringify(c.padding)}`;
  },
  MaxPooling2D: pool('max'),
  AveragePooling2D: pool('avg'),
  GlobalAveragePooling2D: globalPool('avg'),
  GlobalMaxPooling2D: globalPool('max'),
  Add: () => ({ module: new Add(), merge: true }),
  Multiply: () => ({ module: new Multiply(), merge: true }),
  Concatenate: (c, ctx) => {
    const axis = Number(c.axis ?? -1);
    // the rank known: a tg.nn.Concatenate on the internal dimension; else mapped at run time
    if (ctx.inRank !== undefined) return { module: new Concatenate({ dim: internalAxis(axis, ctx.inRank) }), merge: true };
    return { module: new Identity(), merge: true, concatAxis: axis };
  },
  Dropout: (c) => ({ module: new Dropout(Number(c.rate ?? 0.5)) }),
  Flatten: (c) => (c.data_format === 'channels_first' ? 'data_format "channels_first"' : { module: new KerasFlatten() }),
  Reshape: (c) => ({ module: new KerasReshape(c.target_shape as number[]) }),
  Rescaling: (c) => {
    if (typeof c.scale !== 'number' || (c.offset !== undefined && typeof c.offset !== 'number')) return 'per-channel scale or offset';
    return { module: new Rescaling(c.scale, (c.offset as number | undefined) ?? 0) };
  },
  GRU: recurrent('GRU'),
  LSTM: recurrent('LSTM'),
  Embedding: (c, ctx) => {
    if (c.mask_zero === true) return 'mask_zero (masking is not supported)';
    const w = ctx.shape('weight');
    if (!w || w.length !== 2) return 'no embeddings in the file';
    return { module: new Embedding(w[0], w[1]) };
  },
};

/**
 * Builds one Keras layer as a tg.nn module, or returns why it cannot (an unknown class, an unsupported option).
 * Module construction errors on odd configs become reasons too.
 */
export function buildLayer(layer: KerasLayerConfig, ctx: LayerContext): BuiltLayer | string {
  const build = Object.prototype.hasOwnProperty.call(BUILDERS, layer.className) ? BUILDERS[layer.className] : undefined;
  if (!build) return 'no builder for this class';
  try {
    return build(layer.config, ctx);
  } catch (e) {
    return (e as Error).message;
  }
}

/** The rank (Keras' terms, batch included) of a layer's output from its inputs' ranks, when it can be told. */
export function outputRank(layer: KerasLayerConfig, inRanks: (number | undefined)[]): number | undefined {
  const c = layer.config;
  const r = inRanks[0];
  switch (layer.className) {
    case 'InputLayer': {
      const shape = c.batch_input_shape ?? c.batch_shape;
      return Array.isArray(shape) ? shape.length : undefined;
    }
    case 'Flatten':
      return 2;
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return c.keepdims === true ? 4 : 2;
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D':
      return c.keepdims === true ? 3 : 2;
    case 'Reshape':
      return Array.isArray(c.target_shape) ? c.target_shape.length + 1 : undefined;
    case 'Embedding':
      return r === undefined ? undefined : r + 1;
    case 'GRU':
    case 'LSTM':
      return c.return_sequences === true ? 3 : 2;
    default:
      return r;
  }
}

/** Keras' axis on a tensor of `ndim` dimensions, as the internal layout's dimension (4-D tensors are NCHW there). */
export function internalAxis(axis: number, ndim: number): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (ndim !== 4) return a;
  return [0, 2, 3, 1][a];
}

/** Runs a built layer on its inputs (internal layout) and returns its output. */
export function runLayer(built: BuiltLayer, inputs: Tensor[], catFn: (ts: Tensor[], dim: number) => Tensor): Tensor {
  if (built.merge) {
    if (built.concatAxis !== undefined) return catFn(inputs, internalAxis(built.concatAxis, inputs[0].ndim));
    return built.module.call(...inputs) as Tensor;
  }
  const x = inputs[0];
  let y: Tensor;
  if (built.lastAxis && x.ndim === 4) {
    const k = x.permute([0, 2, 3, 1]);
    const out = built.module.call(k) as Tensor;
    y = out.permute([0, 3, 1, 2]);
    k.dispose();
    out.dispose();
  } else if (built.channelsSecond && x.ndim === 3) {
    const k = x.transpose(1, 2);
    const out = built.module.call(k) as Tensor;
    y = out.transpose(1, 2);
    k.dispose();
    out.dispose();
  } else {
    const input = built.module instanceof Embedding && x.dtype !== 'int64' && x.dtype !== 'int32' ? x.to('int64') : x;
    y = built.module.call(input) as Tensor;
    if (input !== x) input.dispose();
  }
  if (!built.activation) return y;
  const a = built.activation(y);
  if (a !== y) y.dispose();
  return a;
}
