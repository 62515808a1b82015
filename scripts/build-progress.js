#!/usr/bin/env node
// Runs a build command (cmake-js) and prints its phases with the elapsed time instead of its output, which goes to a
// log file: configure, compile (files done of total, from Ninja's [n/N] or Make's [ n%]), link; a line at least every
// 30 s while it is quiet; the log's last 60 lines when it fails.
//   node scripts/build-progress.js LOGFILE -- command [args...]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const HEARTBEAT_MS = Number(process.env.TORCHGRAFT_BUILD_HEARTBEAT_MS) || 30000;
// the heartbeat's words for each phase ("still compiling")
const GERUND = { configure: 'configuring', compile: 'compiling', link: 'linking' };

const elapsed = (t0) => {
  const s = Math.round((Date.now() - t0) / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
};

/** Runs argv, reporting to stderr; resolves with its exit code. */
function runWithProgress(log, argv) {
  const t0 = Date.now();
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const out = fs.openSync(log, 'w');
  const tail = [];
  let phase = '';
  let done = 0;
  let total = 0;
  let lastLine = Date.now();
  const say = (text) => {
    process.stderr.write(`torchgraft build: ${text} (${elapsed(t0)})\n`);
    lastLine = Date.now();
  };
  const enter = (name, text) => {
    if (phase === name) return;
    phase = name;
    say(text);
  };
  enter('configure', 'configuring with cmake');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  const onLine = (line) => {
    fs.writeSync(out, `${line}\n`);
    tail.push(line);
    if (tail.length > 60) tail.shift();
    const ninja = /^\[(\d+)\/(\d+)\]/.exec(line);
    const make = /^\[\s*(\d+)%\]/.exec(line);
    if (/Linking CXX/.test(line)) enter('link', 'linking');
    else if (ninja || make || /Building CXX/.test(line)) {
      if (ninja) [done, total] = [Number(ninja[1]), Number(ninja[2])];
      enter('compile', 'compiling');
    }
    if (phase === 'compile' && Date.now() - lastLine >= HEARTBEAT_MS) say(`compiling: ${total ? `${done}/${total} steps` : make ? `${make[1]}%` : 'still at work'}`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split(/\r?\n/);
      rest = lines.pop();
      lines.forEach(onLine);
    });
    stream.on('end', () => rest && onLine(rest));
  }
  const timer = setInterval(() => {
    if (Date.now() - lastLine >= HEARTBEAT_MS) say(`${phase === 'compile' && total ? `compiling: ${done}/${total} steps` : `still ${GERUND[phase] ?? `at ${phase}`}`}`);
  }, Math.min(HEARTBEAT_MS, 5000));
  return new Promise((resolve) => {
    let finished = false;
    const finish = (code, why) => {
      if (finished) return; // 'error' may be followed by 'close'
      finished = true;
      clearInterval(timer);
      fs.closeSync(out);
      if (code !== 0) {
        process.stderr.write(`${tail.join('\n')}\ntorchgraft build: failed after ${elapsed(t0)}: ${why}; the whole log is ${log}\n`);
      } else {
        process.stderr.write(`torchgraft build: done in ${elapsed(t0)} (log: ${log})\n`);
      }
      resolve(code);
    };
    child.on('error', (e) => finish(1, `could not start ${argv[0]}: ${e.message}`));
    child.on('close', (code, signal) => finish(code === 0 ? 0 : code || 1, signal ? `killed by ${signal}` : `exit code ${code}`));
  });
}

module.exports = { runWithProgress };

if (require.main === module) {
  const [log, sep, ...argv] = process.argv.slice(2);
  if (!log || sep !== '--' || !argv.length) {
    process.stderr.write('usage: node scripts/build-progress.js LOGFILE -- command [args...]\n');
    process.exit(2);
  }
  runWithProgress(log, argv).then((code) => process.exit(code));
}
