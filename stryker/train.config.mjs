// StrykerJS over lib/train (the fit loop and its engines, metrics, callbacks, checkpoints, logs) against its tests.
import { folderConfig } from './folder-config.mjs';

export default folderConfig('train', {
  mutate: ['lib/train/**/*.ts'],
  testFiles: [
    'test/fit*.test.js',
    'test/find-lr.test.js',
    'test/find-lr-edges.test.js',
    'test/tensorboard.test.js',
    'test/tensorboard-units.test.js',
    'test/tensorboard-callback.test.js',
    'test/amp-fit.test.js',
    'test/train-*.test.js',
  ],
});
