#!/usr/bin/env node
'use strict';
// Data-parallel training speed: samples/s of an MLP 784-300-100-10 (SGD with momentum, batch 64 per rank, one thread
// per process) on 1 and 2 processes over Gloo on the loopback address, torchgraft's DistributedDataParallel vs
// PyTorch's, in one run, interleaved. Usage: node bench/ddp.js [--steps 200] [--rounds 3] [--world 1,2]
const { spawn } = require('node:child_process');
const { freePort } = require('../dist/cli/run.js');
const path = require('node:path');

const { arg } = require('./helpers/args');
const STEPS = Number(arg('steps', '200'));
const ROUNDS = Number(arg('rounds', '3'));
const WORLDS = arg('world', '1,2').split(',').map(Number);
const BATCH = 64;

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, OMP_NUM_THREADS: '1', USE_LIBUV: '0', GLOO_SOCKET_IFNAME: 'lo', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

async function samplesPerSecond(side, world) {
  const port = await freePort();
  const ranks = Array.from({ length: world }, (_, rank) => {
    const env = { RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
    return side === 'torchgraft'
      ? run(process.execPath, [path.join(__dirname, 'ddp-rank.js'), String(STEPS), String(BATCH)], env)
      : run('/usr/bin/python3', [path.join(__dirname, 'py', 'ddp_rank.py'), String(STEPS), String(BATCH)], env);
  });
  const seconds = Math.max(...(await Promise.all(ranks)).map((r) => r.seconds));
  return (world * BATCH * STEPS) / seconds;
}

(async () => {
  const rows = [];
  for (const world of WORLDS) {
    const tgRates = [];
    const pyRates = [];
    for (let r = 0; r < ROUNDS; r++) {
      tgRates.push(await samplesPerSecond('torchgraft', world));
      pyRates.push(await samplesPerSecond('pytorch', world));
    }
    const median = (a) => a.slice().sort((p, q) => p - q)[Math.floor(a.length / 2)];
    rows.push({ world, torchgraft: median(tgRates), pytorch: median(pyRates), ratio: median(tgRates) / median(pyRates) });
  }
  console.log(`DDP samples/s, MLP 784-300-100-10, batch ${BATCH} per rank, ${STEPS} steps, median of ${ROUNDS} (${new Date().toISOString().slice(0, 10)})`);
  console.log('| processes | torchgraft | PyTorch | torchgraft / PyTorch |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.world} | ${r.torchgraft.toFixed(0)} | ${r.pytorch.toFixed(0)} | ${r.ratio.toFixed(2)}x |`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
