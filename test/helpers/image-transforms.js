// Stand-in transforms for the image loader tests, registered in every worker through ImageFolder's workerModules.
'use strict';
const tg = require('../..');

// 'TestToTensor': HWC bytes to float CHW in [0, 1]; with `random`, adds a draw of tg.rand (to check per-example seeds);
// `size` crops the top-left size x size (so images of any size stack); `throwOn` / `exitOn` fail on a file index's image.
class TestToTensor {
  constructor(spec = {}) {
    this.spec = { name: 'TestToTensor', ...spec };
  }
  apply(img) {
    const s = this.spec;
    if (s.exitOn !== undefined && img.width === s.exitOn) process.exit(7);
    if (s.throwOn !== undefined && img.width === s.throwOn) throw new Error(`TestToTensor refuses width ${img.width}`);
    let x = tg.tensor(img.data, { shape: [img.height, img.width, img.channels], dtype: 'uint8' }).permute([2, 0, 1]).float().div(255);
    if (s.size) x = x.narrow(1, 0, s.size).narrow(2, 0, s.size);
    if (s.random) x = x.add(tg.rand([1]));
    return x.contiguous();
  }
  toJSON() {
    return { ...this.spec };
  }
}

tg.transforms.registerTransform('TestToTensor', (spec) => new TestToTensor(spec));

module.exports = { TestToTensor, modulePath: __filename };
