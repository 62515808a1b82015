// Seeded fuzz of tensor()'s nested-array input, run in a child process so that a V8 fatal error fails the parent test
// instead of killing the runner.   node nested-fuzz.js <seed> <cases>   prints one JSON summary line.
'use strict';
const tg = require('../..');

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.argv[2] ?? 1);
const cases = Number(process.argv[3] ?? 1000);
const rand = rng(seed);
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];

/** A valid rectangular nested array of one leaf kind. */
function valid() {
  const ndim = int(4);
  const shape = Array.from({ length: ndim }, () => int(4));
  const kind = pick(['int', 'float', 'bool']);
  const leaf = () => (kind === 'int' ? int(2001) - 1000 : kind === 'bool' ? rand() < 0.5 : (int(2001) - 1000) / 8 + 0.5);
  const build = (d) => (d === ndim ? leaf() : Array.from({ length: shape[d] }, () => build(d + 1)));
  return { data: build(0), shape };
}

/** Every array inside v with the path of indices to it. */
function arrays(v, path = [], out = []) {
  if (Array.isArray(v)) {
    out.push({ a: v, path });
    v.forEach((x, i) => arrays(x, [...path, i], out));
  }
  return out;
}

const deep = (n, x) => {
  for (let i = 0; i < n; i++) x = [x];
  return x;
};

// Each mutation corrupts (or only disguises) one array of a valid structure.
const MUTATIONS = {
  cycleToRoot: (a, root) => a.length && (a[int(a.length)] = root),
  cycleToSelf: (a) => a.length && (a[int(a.length)] = a),
  hole: (a) => a.length && delete a[int(a.length)],
  sparseHuge: (a) => {
    a.length = 2 ** 32 - 1;
  },
  sparseLong: (a) => {
    a[a.length + 1000 + int(1e6)] = 1;
  },
  ragged: (a) => a.push(a.length ? a[0] : 1),
  shrink: (a) => a.pop(),
  wrongType: (a) => a.length && (a[int(a.length)] = pick(['1', null, undefined, 1n, Symbol('s'), {}, () => 1, new Date(0), new Float32Array(2)])),
  honestProxy: (a, root, parent, i) => parent && (parent[i] = new Proxy(a, {})),
  lyingProxy: (a, root, parent, i) => parent && (parent[i] = new Proxy(a, { get: (t, k) => (k === 'length' ? 2 ** 53 : t[k]) })),
  revokedProxy: (a, root, parent, i) => {
    if (!parent) return;
    const r = Proxy.revocable(a, {});
    r.revoke();
    parent[i] = r.proxy;
  },
  arrayLike: (a) => a.length && (a[int(a.length)] = { length: 2 ** 53, 0: 1 }),
  throwingGetter: (a) =>
    a.length &&
    Object.defineProperty(a, int(a.length), {
      get() {
        throw new Error('getter');
      },
    }),
  throwingNonError: (a) =>
    a.length &&
    Object.defineProperty(a, int(a.length), {
      get() {
        throw pick([42, null, undefined, Symbol('x')]);
      },
    }),
  mutatingGetter: (a, root) => {
    if (!a.length) return;
    const i = int(a.length);
    const v = a[i];
    Object.defineProperty(a, i, {
      get() {
        a.push(root);
        return v;
      },
    });
  },
  deepWrap: (a) => a.length && (a[int(a.length)] = deep(100 + int(100), 1)),
  specialNumbers: (a) => a.length && (a[int(a.length)] = pick([NaN, Infinity, -Infinity, -0, 2 ** 63, -(2 ** 64), 1e300, Number.MIN_VALUE])),
  sharedHuge: (a) => a.length && (a[int(a.length)] = new Array(60000).fill(new Array(60000).fill(1))),
  frozen: (a) => Object.freeze(a),
};
const NAMES = Object.keys(MUTATIONS);

const equal = (t, data) => JSON.stringify(t.toArray()) === JSON.stringify(data, (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.fround(v) : v));

const summary = { seed, cases, ok: 0, typeErrors: 0, rangeErrors: 0, wrong: [], otherErrors: [] };
for (let c = 0; c < cases; c++) {
  const { data, shape } = valid();
  let mutation = 'none';
  let input = data;
  if (rand() < 0.85) {
    mutation = pick(NAMES);
    // The root itself may be wrapped too: a parent array holds it for the duration of the mutation.
    const holder = [data];
    const all = arrays(holder).slice(1);
    const target = all.length ? pick(all) : null;
    if (target) {
      let parent = holder;
      for (const i of target.path.slice(0, -1)) parent = parent[i];
      MUTATIONS[mutation](target.a, data, parent, target.path[target.path.length - 1]);
      input = holder[0];
    }
  }
  try {
    const t = tg.tensor(input);
    summary.ok++;
    if (mutation === 'none' && (!equal(t, data) || t.shape.join() !== shape.slice(0, t.ndim).join()))
      summary.wrong.push({ case: c, shape: t.shape, expected: shape });
    if (t.numel !== t.shape.reduce((x, y) => x * y, 1)) summary.wrong.push({ case: c, mutation, numel: t.numel });
    t.dispose();
  } catch (e) {
    if (e instanceof TypeError) summary.typeErrors++;
    else if (e instanceof RangeError) summary.rangeErrors++;
    else summary.otherErrors.push({ case: c, mutation, error: String(e) });
  }
}
summary.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify(summary));
