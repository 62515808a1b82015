/** MultiheadAttention: scaled dot-product attention over several heads, as torch.nn.MultiheadAttention. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { zeros, cat } from '../../creation';
import { isFloatingDType } from '../../dtype';
import { Module } from '../module';
import * as F from '../functional';
import * as init from '../init';
import { Linear } from './linear';
import { FactoryOptions, checkInt, checkNumber, newTensor } from './common';

/** Options of MultiheadAttention. */
export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Learn the input and output projection biases (default true). */
  bias?: boolean;
  /** Features of the keys (default embedDim); when kdim or vdim differ, q/k/v have their own projection weights. */
  kdim?: number;
  /** Features of the values (default embedDim). */
  vdim?: number;
  /** Inputs and output are (N, L, E) rather than (L, N, E) (default false, as PyTorch). */
  batchFirst?: boolean;
  /** Learn `bias_k` and `bias_v` [1, 1, E], appended to the projected keys and values as one more position (default false). */
  addBiasKv?: boolean;
  /** Append a position of zeros to the keys and values of every head (default false). */
  addZeroAttn?: boolean;
}

/** Options of one MultiheadAttention call. */
export interface MultiheadAttentionCallOptions {
  /** (N, S) or (S) unbatched: true (bool) marks keys to ignore; a float mask is added to the scores. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights as the second element (default true). */
  needWeights?: boolean;
  /** (L, S) or (N·numHeads, L, S): true (bool) forbids attending; a float mask is added to the scores. */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads, (N, L, S), rather than (N, numHeads, L, S) (default true). */
  averageAttnWeights?: boolean;
}

const NAME = 'MultiheadAttention';

/**
 * torch.nn.MultiheadAttention: projects query, key and value (`in_proj_weight` [3E, E] and `in_proj_bias` [3E], or
 * `q_proj_weight`/`k_proj_weight`/`v_proj_weight` when kdim or vdim differ from E), attends in `numHeads` heads of
 * E/numHeads features with softmax(q·kᵀ/√d + mask)·v, and projects back through `out_proj` (a Linear); `bias_k`/`bias_v`
 * (addBiasKv) and a zero position (addZeroAttn) extend the keys and values as PyTorch's. Same
 * parameter names, initialisation (Xavier uniform, zero biases) and outputs as PyTorch.
 * forward(query, key, value, options) returns [output, weights or null].
 */
export class MultiheadAttention extends Module {
  declare in_proj_weight: Tensor | null;
  declare q_proj_weight: Tensor | null;
  declare k_proj_weight: Tensor | null;
  declare v_proj_weight: Tensor | null;
  declare in_proj_bias: Tensor | null;
  declare bias_k: Tensor | null;
  declare bias_v: Tensor | null;
  declare out_proj: Linear;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;

  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    this.embedDim = checkInt(embedDim, 'embedDim', NAME);
    this.numHeads = checkInt(numHeads, 'numHeads', NAME);
    if (embedDim % numHeads !== 0) throw new RangeError(`${NAME}: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    this.headDim = embedDim / numHeads;
    this.kdim = checkInt(options.kdim ?? embedDim, 'kdim', NAME);
    this.vdim = checkInt(options.vdim ?? embedDim, 'vdim', NAME);
    this.dropout = checkNumber(options.dropout ?? 0, 'dropout', NAME, 0, 1);
    this.batchFirst = options.batchFirst ?? false;
    if (typeof this.batchFirst !== 'boolean') throw new TypeError(`${NAME}: batchFirst must be a boolean`);
    const bias = options.bias ?? true;
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    // Registration order follows PyTorch, so state-dict keys come in the same order.
    if (this.packed) {
      this.registerParameter('in_proj_weight', init.xavierUniform_(newTensor([3 * embedDim, embedDim], f, NAME)));
      this.registerParameter('q_proj_weight', null);
      this.registerParameter('k_proj_weight', null);
      this.registerParameter('v_proj_weight', null);
    } else {
      this.registerParameter('q_proj_weight', init.xavierUniform_(newTensor([embedDim, embedDim], f, NAME)));
      this.registerParameter('k_proj_weight', init.xavierUniform_(newTensor([embedDim, this.kdim], f, NAME)));
      this.registerParameter('v_proj_weight', init.xavierUniform_(newTensor([embedDim, this.vdim], f, NAME)));
      this.registerParameter('in_proj_weight', null);
    }
    this.registerParameter('in_proj_bias', bias ? init.zeros_(newTensor([3 * embedDim], f, NAME)) : null);
    const biasKv = options.addBiasKv ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    if (typeof biasKv !== 'boolean' || typeof this.addZeroAttn !== 'boolean') throw new TypeError(`${NAME}: addBiasKv and addZeroAttn must be booleans`);
    this.registerParameter('bias_k', biasKv ? init.xavierNormal_(newTensor([1, 1, embedDim], f, NAME)) : null);
    this.registerParameter('bias_v', biasKv ? init.xavierNormal_(newTensor([1, 1, embedDim], f, NAME)) : null);
    this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, ...f }));
    if (this.out_proj.bias) init.zeros_(this.out_proj.bias);
  }

  /** Whether q, k and v share one packed projection weight (kdim = vdim = embedDim), as PyTorch's _qkv_same_embed_dim. */
  get packed(): boolean {
    return this.kdim === this.embedDim && this.vdim === this.embedDim;
  }

  /**
   * Attends from query to key/value. Shapes (batchFirst false): query (L, N, E), key (S, N, kdim), value (S, N, vdim),
   * or unbatched (L, E), (S, kdim), (S, vdim); batchFirst puts N first. Returns [output (L, N, E) or (N, L, E),
   * weights (N, L, S) averaged over heads, or (N, numHeads, L, S), or null when needWeights is false].
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionCallOptions = {}): [Tensor, Tensor | null] {
    for (const [what, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if (!isTensor(t)) throw new TypeError(`${NAME}: expected a Tensor as ${what}, got ${t === null ? 'null' : typeof t}`);
    }
    if (options === null || typeof options !== 'object') throw new TypeError(`${NAME}: options must be an object`);
    const batched = query.ndim === 3;
    if (query.ndim !== 2 && query.ndim !== 3) throw new RangeError(`${NAME}: expected query of 2 (unbatched) or 3 dimensions, got shape [${query.shape.join(', ')}]`);
    if (key.ndim !== query.ndim || value.ndim !== query.ndim)
      throw new RangeError(`${NAME}: query, key and value must have the same number of dimensions, got [${query.shape.join(', ')}], [${key.shape.join(', ')}] and [${value.shape.join(', ')}]`);
    const dims = (t: Tensor, d: number, what: string) => {
      if (t.shape[t.ndim - 1] !== d) throw new RangeError(`${NAME}: expected ${what} with last dimension ${d}, got shape [${t.shape.join(', ')}]`);
    };
    dims(query, this.embedDim, 'query');
    dims(key, this.kdim, 'key');
    dims(value, this.vdim, 'value');
    const tmp: Tensor[] = [];
    const keep = <T extends Tensor>(t: T): T => (tmp.push(t), t);
    try {
      // Everything below works on sequence-first (L, N, E) tensors.
      const seqFirst = (t: Tensor): Tensor => (!batched ? keep(t.unsqueeze(1)) : this.batchFirst ? keep(t.transpose(0, 1)) : t);
      const selfAttention = query === key && key === value;
      const q0 = seqFirst(query);
      const k0 = selfAttention ? q0 : seqFirst(key);
      const v0 = selfAttention ? q0 : seqFirst(value);
      const [L, N, E] = q0.shape;
      const S = k0.shape[0];
      if (k0.shape[0] !== v0.shape[0] || k0.shape[1] !== N || v0.shape[1] !== N)
        throw new RangeError(`${NAME}: key and value must have the same length and batch size as query, got query [${query.shape.join(', ')}], key [${key.shape.join(', ')}], value [${value.shape.join(', ')}]`);
      const [q, k1, v1] = this.project(q0, k0, v0, selfAttention, keep);
      const H = this.numHeads;
      const hd = this.headDim;
      // bias_k/bias_v: one more key and value position, as PyTorch appends them after the projections.
      const withBias = (t: Tensor, b: Tensor | null) => (b ? keep(cat([t, keep(b.expand([1, N, E]))], 0)) : t);
      const k = withBias(k1, this.bias_k);
      const v = withBias(v1, this.bias_v);
      const Sk = k.shape[0];
      // (L, N, E) → (N·H, L, hd), as PyTorch lays out the heads.
      const heads = (t: Tensor, len: number) => keep(keep(keep(t.contiguous()).view([len, N * H, hd])).transpose(0, 1));
      const qh = heads(q, L);
      let kh = heads(k, Sk);
      let vh = heads(v, Sk);
      if (this.addZeroAttn) {
        const z = keep(zeros([N * H, 1, hd], { dtype: kh.dtype, device: kh.device }));
        kh = keep(cat([kh, z], 1));
        vh = keep(cat([vh, z], 1));
      }
      let mask = this.mergeMasks(options, batched, L, S, N, keep);
      // The appended positions are never masked: pad the mask with zeros.
      const extra = kh.shape[1] - S;
      if (mask && extra > 0) mask = keep(F.pad(mask, [0, extra]));
      const Stot = kh.shape[1];
      const scores = keep(keep(qh.div(Math.sqrt(hd))).bmm(keep(kh.transpose(1, 2))));
      const masked = mask ? keep(scores.add(mask)) : scores;
      const soft = keep(masked.softmax(-1));
      const attn = this.dropout > 0 && this.training ? keep(F.dropout(soft, this.dropout, true)) : soft;
      const ctx = keep(attn.bmm(vh));
      const flat = keep(keep(keep(ctx.transpose(0, 1)).contiguous()).view([L * N, E]));
      const projected = keep(this.out_proj.call(flat));
      let out = keep(projected.view([L, N, E]));
      if (!batched) out = keep(out.squeeze(1));
      else if (this.batchFirst) out = keep(out.transpose(0, 1));
      let weights: Tensor | null = null;
      if (options.needWeights ?? true) {
        weights = keep(attn.view([N, H, L, Stot]));
        if (options.averageAttnWeights ?? true) weights = keep(weights.mean(1));
        if (!batched) weights = keep(weights.squeeze(0));
      }
      const result: [Tensor, Tensor | null] = [out.contiguous(), weights ? weights.contiguous() : null];
      return result;
    } finally {
      for (const t of tmp) t.dispose();
    }
  }

  /** The q, k, v projections (sequence-first): one packed matmul for self-attention, as PyTorch's _in_projection_packed. */
  private project(q: Tensor, k: Tensor, v: Tensor, selfAttention: boolean, keep: (t: Tensor) => Tensor): Tensor[] {
    const b = this.in_proj_bias;
    const bs = b ? b.chunk(3).map(keep) : [null, null, null];
    if (this.packed && this.in_proj_weight) {
      if (selfAttention) return keep(F.linear(q, this.in_proj_weight, b)).chunk(3, -1).map(keep);
      const ws = this.in_proj_weight.chunk(3).map(keep);
      return [keep(F.linear(q, ws[0], bs[0])), keep(F.linear(k, ws[1], bs[1])), keep(F.linear(v, ws[2], bs[2]))];
    }
    return [
      keep(F.linear(q, this.q_proj_weight as Tensor, bs[0])),
      keep(F.linear(k, this.k_proj_weight as Tensor, bs[1])),
      keep(F.linear(v, this.v_proj_weight as Tensor, bs[2])),
    ];
  }

  /** The attention mask and key padding mask as one additive float mask of shape (N·H, L, S) or (L, S), or null. */
  private mergeMasks(o: MultiheadAttentionCallOptions, batched: boolean, L: number, S: number, N: number, keep: (t: Tensor) => Tensor): Tensor | null {
    const H = this.numHeads;
    const additive = (m: Tensor, what: string): Tensor => {
      if (m.dtype === 'bool') return keep(keep(zeros(m.shape, { dtype: 'float32', device: m.device })).maskedFill(m, -Infinity));
      if (!isFloatingDType(m.dtype)) throw new TypeError(`${NAME}: ${what} must be a bool or floating tensor, got dtype ${m.dtype}`);
      return m;
    };
    let mask: Tensor | null = null;
    const am = o.attnMask ?? null;
    if (am !== null) {
      if (!isTensor(am)) throw new TypeError(`${NAME}: attnMask must be a Tensor or null`);
      const ok = (am.ndim === 2 && am.shape[0] === L && am.shape[1] === S) || (am.ndim === 3 && am.shape[0] === N * H && am.shape[1] === L && am.shape[2] === S);
      if (!ok) throw new RangeError(`${NAME}: attnMask must have shape [${L}, ${S}] or [${N * H}, ${L}, ${S}], got [${am.shape.join(', ')}]`);
      mask = additive(am, 'attnMask');
    }
    const kpm = o.keyPaddingMask ?? null;
    if (kpm !== null) {
      if (!isTensor(kpm)) throw new TypeError(`${NAME}: keyPaddingMask must be a Tensor or null`);
      const want = batched ? [N, S] : [S];
      if (kpm.ndim !== want.length || kpm.shape.some((d, i) => d !== want[i]))
        throw new RangeError(`${NAME}: keyPaddingMask must have shape [${want.join(', ')}], got [${kpm.shape.join(', ')}]`);
      const add = additive(kpm, 'keyPaddingMask');
      const expanded = keep(keep(keep(add.view([N, 1, 1, S])).expand([N, H, 1, S])).reshape([N * H, 1, S]));
      mask = mask ? keep(mask.add(expanded)) : expanded;
    }
    return mask;
  }

  extraRepr(): string {
    const extra = `${this.bias_k ? ', addBiasKv=true' : ''}${this.addZeroAttn ? ', addZeroAttn=true' : ''}`;
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}, batchFirst=${this.batchFirst}${extra}`;
  }
}
