// A pool of fuzz children (child.js): each load runs in a child with a deadline, so a signal or abort counts as a
// crash, a missed deadline (the child is killed) as a hang, and a child over the memory cap as a crash; the pool
// replaces any child it loses and the fuzzer itself never dies with it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { fork } = require('node:child_process');

const CHILD = path.join(__dirname, 'child.js');

/** Resident set size of a process in kB, from /proc (0 where /proc is absent). */
function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

class Pool {
  /**
   * @param {{ size?: number, timeoutMs?: number, rssLimitMb?: number }} options children, per-load deadline,
   *   and the memory cap past which a child is killed (a loader that allocates far beyond the file's size).
   */
  constructor({ size = 2, timeoutMs = 10000, rssLimitMb = 3072 } = {}) {
    Object.assign(this, { size, timeoutMs, rssLimitMb, slots: [], queue: [], nextId: 0, maxRssKb: 0, spawned: 0 });
  }

  /** Runs one load: resolves { outcome, ... } with outcome loaded, coded, uncoded, crash or hang. Never rejects. */
  run(job) {
    return new Promise((resolve) => {
      this.queue.push({ job, resolve });
      this.pump();
    });
  }

  pump() {
    while (this.queue.length) {
      let slot = this.slots.find((s) => s.ready && !s.busy);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        this.spawn();
        continue;
      }
      const { job, resolve } = this.queue.shift();
      this.start(slot, job, resolve);
    }
  }

  spawn() {
    const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    const slot = { child, ready: false, busy: null, stderr: '' };
    this.spawned++;
    this.slots.push(slot);
    child.stderr.on('data', (d) => (slot.stderr = (slot.stderr + d).slice(-2000)));
    child.on('message', (m) => {
      if (m.ready) {
        slot.ready = true;
        return this.pump();
      }
      if (!slot.busy || m.id !== slot.busy.id) return;
      this.maxRssKb = Math.max(this.maxRssKb, m.rssKb ?? 0);
      this.finish(slot, m);
    });
    child.on('exit', (code, signal) => {
      this.slots.splice(this.slots.indexOf(slot), 1);
      if (slot.busy) {
        const why = slot.killedFor ?? (signal ? `signal ${signal}` : `exit code ${code}`);
        this.finish(slot, { outcome: slot.killedFor === 'hang' ? 'hang' : 'crash', message: why, stderr: slot.stderr.slice(-800) });
      }
      if (!this.closed) this.pump();
    });
    return slot;
  }

  start(slot, job, resolve) {
    const id = this.nextId++;
    slot.busy = { id, resolve };
    slot.killedFor = undefined;
    slot.stderr = '';
    const kill = (why) => {
      slot.killedFor = why;
      slot.child.kill('SIGKILL');
    };
    slot.timer = setTimeout(() => kill('hang'), this.timeoutMs);
    slot.probe = setInterval(() => {
      const kb = rssKb(slot.child.pid);
      this.maxRssKb = Math.max(this.maxRssKb, kb);
      if (kb > this.rssLimitMb * 1024) kill(`memory over ${this.rssLimitMb} MB`);
    }, 50);
    slot.child.send({ id, file: job.file, api: job.api });
  }

  finish(slot, result) {
    clearTimeout(slot.timer);
    clearInterval(slot.probe);
    const { resolve } = slot.busy;
    slot.busy = null;
    resolve(result);
    this.pump();
  }

  /** Starts every child and resolves when all are ready (child start-up is then out of timed runs). */
  async warm() {
    while (this.slots.length < this.size) this.spawn();
    while (this.slots.some((s) => !s.ready)) await new Promise((r) => setTimeout(r, 20));
  }

  /** Ends every child. */
  close() {
    this.closed = true;
    for (const s of [...this.slots]) s.child.kill('SIGKILL');
  }
}

module.exports = { Pool };
