// Hand-written model and optimizer for training tests: the structural interfaces fit needs, nothing from tg.nn or tg.optim.
'use strict';
const tg = require('../..');

/** A linear layer (weight [out, in], bias [out]) with train/eval, stateDict and loadStateDict. */
class TinyLinear {
  constructor(inFeatures, outFeatures, seed = 0, device = 'cpu') {
    tg.manualSeed(seed);
    this.weight = tg.keep(tg.randn([outFeatures, inFeatures], { device }).mul_(0.1).requiresGrad_(true));
    this.bias = tg.keep(tg.zeros([outFeatures], { device }).requiresGrad_(true));
    this.training = true;
    this.modes = [];
  }
  forward(x) {
    return tg.nn.functional.linear(x, this.weight, this.bias);
  }
  train(mode = true) {
    this.training = mode;
    this.modes.push(mode ? 'train' : 'eval');
    return this;
  }
  eval() {
    return this.train(false);
  }
  parameters() {
    return [this.weight, this.bias];
  }
  stateDict() {
    return { weight: this.weight, bias: this.bias };
  }
  loadStateDict(sd) {
    tg.noGrad(() => {
      this.weight.copy_(sd.weight);
      this.bias.copy_(sd.bias);
    });
  }
  dispose() {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** Plain SGD: p -= lr * grad, then the gradient is set to none. */
class TinySGD {
  constructor(params, lr) {
    this.params = params;
    this.lr = lr;
  }
  zeroGrad() {
    for (const p of this.params) p.grad = undefined;
  }
  step() {
    tg.noGrad(() => {
      for (const p of this.params) if (p.grad) p.sub_(p.grad.mul(this.lr));
    });
  }
}

/** n points in 2-D, class 1 when x0 + x1 > 0 (linearly separable with a margin), as [x float32 [n, 2], y int64 [n]]. */
function separable(n, seed = 1) {
  tg.manualSeed(seed);
  return tg.tidy(() => {
    const raw = tg.randn([n, 2]);
    const s = raw.sum(1);
    // push points away from the boundary so a few epochs suffice
    const x = raw.add(s.sign().unsqueeze(1).mul(0.5));
    const y = x.sum(1).gt(0).long();
    return [x, y];
  });
}

/** A writable that records what is written, as a terminal (isTTY) or not. */
function capture(isTTY = false) {
  const chunks = [];
  return { isTTY, columns: 100, chunks, write(s) { chunks.push(String(s)); return true; }, text: () => chunks.join('') };
}

module.exports = { TinyLinear, TinySGD, separable, capture };
