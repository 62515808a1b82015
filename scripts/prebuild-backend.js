#!/usr/bin/env node
// Stands in for node-gyp under prebuildify (--node-gyp): prebuildify 6 only drives node-gyp, our build is CMake (cmake-js).
// prebuildify calls it as `<this> rebuild --target=<node version> --devdir=... --arch=x64 --release`; none of that
// changes a Node-API build, so it compiles incrementally with cmake-js into build/Release, where prebuildify looks.
'use strict';
const args = process.argv.slice(2);
if (args[0] !== 'rebuild') {
  console.error(`prebuild-backend: expected "rebuild" from prebuildify, got: ${args.join(' ')}`);
  process.exit(2);
}
if (args.includes('--debug')) {
  console.error('prebuild-backend: prebuilt binaries are Release builds');
  process.exit(2);
}
process.exit(require('./build-native').build());
