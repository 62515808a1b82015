// StrykerJS over lib/transfer/cache (the feature cache: memory and disk, its build, blocks, stamps and reads)
// against the feature-cache suites, fastest first (a mutant stops at the first test file that kills it).
import { folderConfig } from './folder-config.mjs';

export default folderConfig('cache', {
  mutate: ['lib/transfer/cache/**/*.ts'],
  testFiles: [
    'test/transfer-feature-cache-epoch-reader.test.js',
    'test/transfer-feature-cache-inputs.test.js',
    'test/transfer-feature-cache-lifecycle.test.js',
    'test/transfer-feature-cache-blocks-trailer.test.js',
    'test/transfer-feature-cache-edges.test.js',
    'test/transfer-feature-cache-engine-checks.test.js',
    'test/transfer-feature-cache-cut.test.js',
    'test/native-read-blocks.test.js',
    'test/data-block-shuffle.test.js',
    'test/transfer-feature-cache-fingerprint.test.js',
    'test/transfer-feature-cache-paths.test.js',
    'test/transfer-feature-cache-stamp.test.js',
    'test/transfer-feature-cache.test.js',
    'test/transfer-feature-cache-one-rank.test.js',
    'test/transfer-feature-cache-build-engine.test.js',
    'test/transfer-feature-cache-build-space.test.js',
    'test/transfer-feature-cache-blocks-corrupt.test.js',
    'test/transfer-feature-cache-blocks.test.js',
    'test/transfer-feature-cache-build-resume.test.js',
    'test/transfer-feature-cache-disk.test.js',
    'test/fit-native-disk-cache.test.js',
    'test/transfer-recipes-options.test.js',
  ],
});
