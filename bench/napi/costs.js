#!/usr/bin/env node
// What each Node-API way of attaching native state to a JS object costs per object (CPU ns, median of 7 trials),
// measured in a fresh process per variant so one variant's garbage does not slow the next.
// Usage: node bench/napi/costs.js   (compiles costs.c with cc into build/bench/napi_costs.node)
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const out = path.join(root, 'build', 'bench', 'napi_costs.node');
const src = path.join(__dirname, 'costs.c');
const N = 300000;

if (process.argv[2] === '--child') {
  const m = require(out);
  const [kind, arg] = [process.argv[3], Number(process.argv[4])];
  const o = (m.setMode(4), m.make());
  const body =
    kind === 'make'
      ? (n) => {
          for (let i = 0; i < n; i++) m.make();
        }
      : kind === 'check'
        ? (n) => {
            for (let i = 0; i < n; i++) m.check(o, arg);
          }
        : (n) => {
            for (let i = 0; i < n; i++) m.bare();
          };
  if (kind === 'make') m.setMode(arg);
  body(20000);
  const r = [];
  for (let k = 0; k < 7; k++) {
    const c0 = process.cpuUsage();
    body(N);
    const c = process.cpuUsage(c0);
    r.push(((c.user + c.system) * 1000) / N);
  }
  r.sort((a, b) => a - b);
  process.stdout.write(String(r[3]));
  process.exit(0);
}

if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const inc = path.join(path.dirname(require.resolve('node-api-headers/package.json', { paths: [root] })), 'include');
  execFileSync('cc', ['-O2', '-shared', '-fPIC', '-DNAPI_VERSION=8', `-I${inc}`, src, '-o', out], { stdio: 'inherit' });
}
const run = (kind, arg = 0) => Number(spawnSync(process.execPath, [__filename, '--child', kind, String(arg)], { encoding: 'utf8' }).stdout);
const rows = [
  ['bare N-API call', run('bare')],
  ['call + typeof of the argument', run('check', 0)],
  ['call + napi_check_object_type_tag', run('check', 1)],
  ['call + napi_unwrap', run('check', 2)],
  ['call + symbol property read', run('check', 3)],
  ['call + napi_instanceof', run('check', 4)],
  ['call + napi_get_instance_data', run('check', 5)],
  ['napi_new_instance (empty constructor)', run('make', 0)],
  ['  + napi_wrap with finalizer (ObjectWrap)', run('make', 1)],
  ['  + napi_type_tag_object', run('make', 2)],
  ['  + napi_wrap + type tag (torchgraft before)', run('make', 3)],
  ['  + read-only symbol property (torchgraft after)', run('make', 4)],
  ['  + writable symbol property', run('make', 5)],
  ['  + napi_add_finalizer', run('make', 6)],
];
console.log(`Node ${process.version}: CPU ns per call or per object created (and dropped), median of 7 x ${N}`);
for (const [label, ns] of rows) console.log(`${label.padEnd(50)} ${ns.toFixed(0).padStart(6)}`);
