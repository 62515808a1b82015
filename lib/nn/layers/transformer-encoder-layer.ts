/** TransformerEncoderLayer: self-attention then a feed-forward block, each residual, as torch.nn.TransformerEncoderLayer. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { Linear } from './linear';
import { Dropout } from './dropout';
import { LayerNorm } from './layernorm';
import { MultiheadAttention } from './multihead-attention';
import { FactoryOptions, checkInt, checkNumber } from './common';

/** Options of TransformerEncoderLayer. */
export interface TransformerEncoderLayerOptions extends FactoryOptions {
  /** Hidden features of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block (default 0.1). */
  dropout?: number;
  /** The feed-forward activation: 'relu' (default) or 'gelu'. */
  activation?: 'relu' | 'gelu';
  /** The LayerNorms' eps (default 1e-5). */
  layerNormEps?: number;
  /** Input and output are (N, S, E) rather than (S, N, E) (default false). */
  batchFirst?: boolean;
  /** Normalise before attention and feed-forward (pre-LN) rather than after each residual sum (default false). */
  normFirst?: boolean;
}

/** Options of one TransformerEncoderLayer call. */
export interface TransformerEncoderLayerCallOptions {
  /** (S, S) or (N·nhead, S, S) attention mask: true (bool) forbids attending; a float mask is added. */
  srcMask?: Tensor | null;
  /** (N, S) mask of padding positions to ignore (true, or an additive float). */
  srcKeyPaddingMask?: Tensor | null;
}

const NAME = 'TransformerEncoderLayer';

/**
 * torch.nn.TransformerEncoderLayer with PyTorch's children and names: self_attn (MultiheadAttention), linear1,
 * dropout, linear2, norm1, norm2, dropout1, dropout2. Post-LN (default): x = norm1(x + sa(x)); x = norm2(x + ff(x));
 * pre-LN (normFirst): x = x + sa(norm1(x)); x = x + ff(norm2(x)).
 */
export class TransformerEncoderLayer extends Module {
  declare self_attn: MultiheadAttention;
  declare linear1: Linear;
  declare dropout: Dropout;
  declare linear2: Linear;
  declare norm1: LayerNorm;
  declare norm2: LayerNorm;
  declare dropout1: Dropout;
  declare dropout2: Dropout;
  readonly dModel: number;
  readonly nhead: number;
  readonly activation: 'relu' | 'gelu';
  readonly normFirst: boolean;
  readonly batchFirst: boolean;

  /** @param dModel features of each position (E); @param nhead attention heads (E divisible by it). */
  constructor(dModel: number, nhead: number, options: TransformerEncoderLayerOptions = {}) {
    super();
    this.dModel = checkInt(dModel, 'dModel', NAME);
    this.nhead = checkInt(nhead, 'nhead', NAME);
    const ff = checkInt(options.dimFeedforward ?? 2048, 'dimFeedforward', NAME);
    const p = checkNumber(options.dropout ?? 0.1, 'dropout', NAME, 0, 1);
    const eps = checkNumber(options.layerNormEps ?? 1e-5, 'layerNormEps', NAME, 0);
    const act = options.activation ?? 'relu';
    if (act !== 'relu' && act !== 'gelu') throw new TypeError(`${NAME}: activation must be 'relu' or 'gelu', got ${JSON.stringify(act)}`);
    this.activation = act;
    this.normFirst = options.normFirst ?? false;
    this.batchFirst = options.batchFirst ?? false;
    if (typeof this.normFirst !== 'boolean' || typeof this.batchFirst !== 'boolean') throw new TypeError(`${NAME}: normFirst and batchFirst must be booleans`);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: this.batchFirst, ...f }));
    this.registerModule('linear1', new Linear(dModel, ff, f));
    this.registerModule('dropout', new Dropout(p));
    this.registerModule('linear2', new Linear(ff, dModel, f));
    this.registerModule('norm1', new LayerNorm(dModel, { eps, ...f }));
    this.registerModule('norm2', new LayerNorm(dModel, { eps, ...f }));
    this.registerModule('dropout1', new Dropout(p));
    this.registerModule('dropout2', new Dropout(p));
  }

  /** Encodes src: (S, N, E), (N, S, E) with batchFirst, or unbatched (S, E). */
  forward(src: Tensor, options: TransformerEncoderLayerCallOptions = {}): Tensor {
    if (!isTensor(src)) throw new TypeError(`${NAME}: expected a Tensor as src, got ${src === null ? 'null' : typeof src}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`${NAME}: options must be an object`);
    const tmp: Tensor[] = [];
    const keep = (t: Tensor): Tensor => (tmp.push(t), t);
    try {
      const sa = (x: Tensor): Tensor => {
        const [y] = this.self_attn.call(x, x, x, { attnMask: options.srcMask ?? null, keyPaddingMask: options.srcKeyPaddingMask ?? null, needWeights: false });
        return this.dropout1.call(keep(y));
      };
      const ffBlock = (x: Tensor): Tensor => {
        const h = keep(this.linear1.call(x));
        const a = keep(this.activation === 'relu' ? F.relu(h) : F.gelu(h));
        return this.dropout2.call(keep(this.linear2.call(keep(this.dropout.call(a)))));
      };
      if (this.normFirst) {
        const x1 = keep(src.add(keep(sa(keep(this.norm1.call(src))))));
        return x1.add(keep(ffBlock(keep(this.norm2.call(x1)))));
      }
      const x1 = keep(this.norm1.call(keep(src.add(keep(sa(src))))));
      return this.norm2.call(keep(x1.add(keep(ffBlock(x1)))));
    } finally {
      for (const t of tmp) t.dispose();
    }
  }

  extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, activation=${this.activation}, normFirst=${this.normFirst}, batchFirst=${this.batchFirst}`;
  }
}
