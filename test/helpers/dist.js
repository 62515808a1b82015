'use strict';
// Starts the ranks of a distributed test as child processes on the loopback address and collects their JSON results.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { freePort } = require('../../dist/cli/run.js');

const RANK_SCRIPT = path.join(__dirname, '..', 'fixtures', 'dist-rank.js');

/** Runs one process: resolves { code, signal, result, stderr } (result: the JSON of its last stdout line). */
function runProcess(cmd, args, env, timeoutMs = 60000) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop();
      let result = null;
      try { result = JSON.parse(last); } catch { /* no result: a crash */ }
      resolve({ code, signal, result, stdout: out, stderr: err });
    });
  });
}

/** Starts `world` Node ranks of `scenario`; resolves their outcomes by rank. */
async function runRanks(scenario, world, extraEnv = {}) {
  const port = await freePort();
  const env = { WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), ...extraEnv };
  return Promise.all(Array.from({ length: world }, (_, rank) => runProcess(process.execPath, [RANK_SCRIPT, scenario], { ...env, RANK: String(rank) })));
}

module.exports = { freePort, runProcess, runRanks, RANK_SCRIPT };
