// StrykerJS over lib/optim (optimizers, parameter groups, clipping, schedulers) against the tests that drive it.
import { folderConfig } from './folder-config.mjs';

export default folderConfig('optim', {
  mutate: ['lib/optim/**/*.ts'],
  testFiles: [
    'test/optim-*.test.js',
    'test/transfer-fine-tune.test.js',
    'test/transfer-discriminative.test.js',
    'test/transfer-freeze-optim.test.js',
  ],
});
