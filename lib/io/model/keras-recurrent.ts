/**
 * Keras' GRU and LSTM as modules that keep Keras' weight names and layouts (`kernel` (in, gates·units),
 * `recurrent_kernel` (units, gates·units), `bias`), so files load as they are: PyTorch's GRU places the reset gate
 * differently (Keras' reset_after=False), and both order the gates their own way. Input (N, T, features) as in Keras.
 */
import type { Tensor } from '../../tensor';
import { stack, zeros } from '../../creation';
import { tidy } from '../../memory';
import { Module } from '../../nn/module';
import { newTensor } from '../../nn/layers/common';
import { ActivationFn } from './keras-activations';

/** Options shared by KerasGRU and KerasLSTM (Keras' config). */
export interface KerasRecurrentOptions {
  activation: ActivationFn;
  recurrentActivation: ActivationFn;
  returnSequences: boolean;
  goBackwards: boolean;
  /** Biases present (`use_bias`). */
  bias: boolean;
  /** GRU only: Keras' reset_after (the bias is then (2, 3·units): input and recurrent biases). */
  resetAfter?: boolean;
}

/** The common part: parameters, the time loop over (N, T, F) input. */
abstract class KerasRecurrent extends Module {
  declare kernel: Tensor;
  declare recurrent_kernel: Tensor;
  declare bias: Tensor | null;
  readonly units: number;
  protected readonly o: KerasRecurrentOptions;

  constructor(inputSize: number, units: number, gates: number, o: KerasRecurrentOptions, biasShape: number[]) {
    super();
    const name = this.constructor.name;
    this.units = units;
    this.o = o;
    this.registerParameter('kernel', newTensor([inputSize, gates * units], {}, name));
    this.registerParameter('recurrent_kernel', newTensor([units, gates * units], {}, name));
    this.registerParameter('bias', o.bias ? newTensor(biasShape, {}, name) : null);
  }

  /** One step: the new state(s) from the input's projection `xw` (N, gates·units) and the old state(s). */
  protected abstract step(xw: Tensor, state: Tensor[]): Tensor[];
  protected abstract initialState(n: number, like: Tensor): Tensor[];

  /** Runs the sequence: the last output (N, units), or all outputs (N, T, units) with return_sequences. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3) throw new RangeError(`${this.constructor.name}: expected (N, T, features) input, got shape [${x.shape.join(', ')}]`);
    return tidy(() => {
      const xw = x.matmul(this.kernel);
      const steps = x.shape[1];
      let state = this.initialState(x.shape[0], x);
      const outs: Tensor[] = [];
      for (let i = 0; i < steps; i++) {
        const t = this.o.goBackwards ? steps - 1 - i : i;
        state = this.step(xw.select(1, t), state);
        outs.push(state[0]);
      }
      if (!this.o.returnSequences) return steps > 0 ? state[0] : zeros([x.shape[0], this.units], { dtype: x.dtype, device: x.device });
      return stack(outs, 1);
    });
  }

  extraRepr(): string {
    return `units=${this.units}, returnSequences=${this.o.returnSequences}, goBackwards=${this.o.goBackwards}`;
  }
}

/** Keras' GRU (gates z, r, h; reset_after false or true). */
export class KerasGRU extends KerasRecurrent {
  constructor(inputSize: number, units: number, o: KerasRecurrentOptions) {
    super(inputSize, units, 3, o, o.resetAfter ? [2, 3 * units] : [3 * units]);
  }

  protected initialState(n: number, like: Tensor): Tensor[] {
    return [zeros([n, this.units], { dtype: like.dtype, device: like.device })];
  }

  protected step(xw: Tensor, [h]: Tensor[]): Tensor[] {
    const u = this.units;
    const { activation, recurrentActivation, resetAfter } = this.o;
    const bIn = this.bias ? (resetAfter ? this.bias.select(0, 0) : this.bias) : null;
    const bRec = this.bias && resetAfter ? this.bias.select(0, 1) : null;
    const x = bIn ? xw.add(bIn) : xw;
    const gate = (t: Tensor, k: number) => t.narrow(1, k * u, u);
    const rk = this.recurrent_kernel;
    if (resetAfter) {
      let hu = h.matmul(rk);
      if (bRec) hu = hu.add(bRec);
      const z = recurrentActivation(gate(x, 0).add(gate(hu, 0)));
      const r = recurrentActivation(gate(x, 1).add(gate(hu, 1)));
      const hh = activation(gate(x, 2).add(r.mul(gate(hu, 2))));
      return [z.mul(h).add(z.neg().add(1).mul(hh))];
    }
    const hz = h.matmul(rk.narrow(1, 0, 2 * u));
    const z = recurrentActivation(gate(x, 0).add(gate(hz, 0)));
    const r = recurrentActivation(gate(x, 1).add(gate(hz, 1)));
    const hh = activation(gate(x, 2).add(r.mul(h).matmul(rk.narrow(1, 2 * u, u))));
    return [z.mul(h).add(z.neg().add(1).mul(hh))];
  }
}

/** Keras' LSTM (gates i, f, c, o). */
export class KerasLSTM extends KerasRecurrent {
  constructor(inputSize: number, units: number, o: KerasRecurrentOptions) {
    super(inputSize, units, 4, o, [4 * units]);
  }

  protected initialState(n: number, like: Tensor): Tensor[] {
    return [0, 1].map(() => zeros([n, this.units], { dtype: like.dtype, device: like.device }));
  }

  protected step(xw: Tensor, [h, c]: Tensor[]): Tensor[] {
    const u = this.units;
    const { activation, recurrentActivation } = this.o;
    let g = xw.add(h.matmul(this.recurrent_kernel));
    if (this.bias) g = g.add(this.bias);
    const gate = (k: number) => g.narrow(1, k * u, u);
    const i = recurrentActivation(gate(0));
    const f = recurrentActivation(gate(1));
    const c2 = f.mul(c).add(i.mul(activation(gate(2))));
    const h2 = recurrentActivation(gate(3)).mul(activation(c2));
    return [h2, c2];
  }
}
