// StrykerJS over lib/transfer (reuse, classifier and input adaptation, copying, fine-tuning recipes) against its tests;
// lib/transfer/cache/ has its own run (stryker/cache.config.mjs, `npm run mutate:cache`) against the feature-cache suites.
import { folderConfig } from './folder-config.mjs';

export default folderConfig('transfer', {
  mutate: ['lib/transfer/*.ts', 'lib/transfer/recipes/**/*.ts'],
  testFiles: [
    'test/transfer-adapt.test.js',
    'test/transfer-adapt-edges.test.js',
    'test/transfer-copy-classifier.test.js',
    'test/transfer-collections.test.js',
    'test/transfer-discriminative.test.js',
    'test/transfer-fine-tune.test.js',
    'test/transfer-freeze*.test.js',
    'test/transfer-partial-restore.test.js',
    'test/transfer-reuse.test.js',
    'test/transfer-reuse-edges.test.js',
    'test/transfer-surgery.test.js',
    'test/transfer-recipes-*.test.js',
    'test/io-map-keys.test.js',
  ],
});
