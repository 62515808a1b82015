// The structure-aware fuzz campaign: for one target, mutant i of seed S is a pure function of (S, format, i); mutants
// are written to a scratch folder and loaded in the child pool; outcomes are counted and defects kept with their
// reproducer (format, seed, iteration).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { rng, mutantSeed, tools } = require('./rng');
const { mutate: byteMutate, hotRegions } = require('../fuzz-io');
const TARGETS = require('./targets');

const ROOT = path.resolve(__dirname, '..', '..');
const FOREIGN = process.env.TORCHGRAFT_FOREIGN_FIXTURES || path.join(ROOT, 'test', 'fixtures', 'foreign');
const SEEDS = path.join(ROOT, 'test', 'fixtures', 'fuzz-seeds');

/** Where a target's seed lives: `fuzz/x` in test/fixtures/fuzz-seeds, anything else in the foreign fixtures. */
const seedPath = (s) => (s.startsWith('fuzz/') ? path.join(SEEDS, s.slice(5)) : path.join(FOREIGN, s));

/** The target named `name`, with its seeds read and parsed once. */
function loadTarget(name) {
  const target = TARGETS.find((t) => t.name === name);
  if (!target) throw new RangeError(`fuzz: no target '${name}' (targets: ${TARGETS.map((t) => t.name).join(', ')})`);
  const seeds = target.seeds.map(seedPath).filter((f) => fs.existsSync(f)).map((f) => ({ file: f, parsed: target.prepare(fs.readFileSync(f), f) }));
  if (!seeds.length) throw new Error(`fuzz: target '${name}' has none of its seeds (${target.seeds.join(', ')})`);
  return { ...target, prepared: seeds };
}

/** Mutant `i` of a loaded target: { files: [[name, bytes]], entry, seedFile }. Deterministic in (seed, name, i). */
function mutantOf(target, seed, i) {
  const t = tools(rng(mutantSeed(seed, target.name, i)));
  const s = t.pick(target.prepared);
  const m = target.mutate(s.parsed, t);
  // A quarter also get byte-level damage (bit flips, parser punctuation, cuts, splices) on top of the structural one.
  if (t.chance(0.25)) {
    const k = m.files.findIndex(([n]) => n === m.entry);
    m.files[k] = [m.entry, byteMutate(m.files[k][1], t.rand, hotRegions(m.files[k][1]))];
  }
  return { ...m, seedFile: path.relative(ROOT, s.file) };
}

/** Writes a mutant's files into `dir` (created); returns the path of the file to load. */
function writeMutant(m, dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of m.files) fs.writeFileSync(path.join(dir, name), bytes);
  return path.join(dir, m.entry);
}

/**
 * Runs mutants start .. start+mutants-1 of one target in `pool`, stopping early when `deadline` (ms epoch) passes or
 * `stop()` says so; `row.next` is where a later run resumes (--start).
 * @returns the row of figures and up to `keep` defects, each with its reproducer.
 */
async function runTarget(name, { pool, seed = 1, start = 0, mutants = 1000, deadline = Infinity, stop = () => false, scratch, keep = 10, onProgress }) {
  const target = loadTarget(name);
  const row = { format: name, mutants: 0, loaded: 0, coded: 0, uncoded: 0, crash: 0, hang: 0, leaked: 0, codes: {}, defects: [], seconds: 0 };
  const t0 = Date.now();
  let next = start;
  const end = start + mutants;
  const worker = async (lane) => {
    while (next < end && Date.now() < deadline && !stop()) {
      const i = next++;
      let m;
      try {
        m = mutantOf(target, seed, i);
      } catch (e) {
        throw new Error(`fuzz: the ${name} mutator failed on --seed ${seed} --replay ${i}: ${e.stack}`, { cause: e });
      }
      const dir = path.join(scratch, `${name}-${lane}`);
      fs.rmSync(dir, { recursive: true, force: true });
      const file = writeMutant(m, dir);
      const r = await pool.run({ file, api: target.api });
      row.mutants++;
      row[r.outcome]++;
      if (r.leaked > 0) row.leaked = Math.max(row.leaked, r.leaked);
      if (r.outcome === 'coded') row.codes[r.code ?? r.name] = (row.codes[r.code ?? r.name] ?? 0) + 1;
      if ((r.outcome === 'uncoded' || r.outcome === 'crash' || r.outcome === 'hang') && row.defects.length < keep)
        row.defects.push({ format: name, seed, iteration: i, seedFile: m.seedFile, outcome: r.outcome, error: r.name, message: r.message, stack: r.stack, stderr: r.stderr });
      if (onProgress && row.mutants % 500 === 0) onProgress(row);
    }
  };
  await Promise.all(Array.from({ length: pool.size }, (_, lane) => worker(lane)));
  row.seconds = (Date.now() - t0) / 1000;
  row.next = next;
  return row;
}

module.exports = { TARGETS, loadTarget, mutantOf, writeMutant, runTarget, seedPath };
