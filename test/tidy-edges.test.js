'use strict';
// tidy() closes its scope whatever the callback or its result does: throwing getters, Proxies, cycles, thenables.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

/** Runs tidy(fn); returns { result, error } and checks the scope count is back to where it was. */
function tidyClosed(fn) {
  const before = tg.memory().scopes;
  let result;
  let error;
  try {
    result = tg.tidy(fn);
  } catch (e) {
    error = e;
  }
  assert.strictEqual(tg.memory().scopes, before, 'tidy() left a scope open');
  // A tensor made afterwards belongs to no leftover scope: an empty tidy around it leaves it alone,
  // and it is not disposed when the next scope closes.
  const later = tg.ones([1]);
  tg.tidy(() => tg.zeros([1]));
  assert.strictEqual(later.isDisposed, false);
  later.dispose();
  return { result, error };
}

test('a result with a throwing getter: the scope closes, returned tensors are kept, the getter is not run', () => {
  let t;
  let inner;
  let calls = 0;
  const { result, error } = tidyClosed(() => {
    t = tg.ones([2]);
    inner = tg.zeros([2]);
    return {
      t,
      get bad() {
        calls++;
        throw new Error('x');
      },
    };
  });
  assert.strictEqual(error, undefined);
  assert.strictEqual(result.t, t);
  assert.strictEqual(t.isDisposed, false);
  assert.strictEqual(inner.isDisposed, true);
  assert.strictEqual(calls, 0);
  t.dispose();
});

test('a getter that returns a tensor is not run either: only data properties are searched', () => {
  let t;
  const { result } = tidyClosed(() => {
    t = tg.ones([1]);
    return {
      get lazy() {
        return t;
      },
    };
  });
  assert.ok(result);
  assert.strictEqual(t.isDisposed, true);
});

test('an array whose element is a throwing accessor: the scope closes and the other elements are kept', () => {
  let t;
  const { result, error } = tidyClosed(() => {
    t = tg.ones([1]);
    const a = [t];
    Object.defineProperty(a, 1, { get() { throw new Error('boom'); }, enumerable: true });
    return a;
  });
  assert.strictEqual(error, undefined);
  assert.strictEqual(result[0], t);
  assert.strictEqual(t.isDisposed, false);
  t.dispose();
});

test('a Proxy result whose traps throw: the scope closes with a TypeError and nothing is kept', () => {
  let t;
  const traps = ['ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'get', 'has'];
  for (const trap of traps) {
    const { error } = tidyClosed(() => {
      t = tg.ones([1]);
      return new Proxy({ t }, { [trap]() { throw new Error(`trap ${trap}`); } });
    });
    if (error) {
      assert.ok(error instanceof TypeError, `${trap}: ${error}`);
      assert.match(error.message, /tidy\(\)/);
      assert.strictEqual(t.isDisposed, true);
    } else assert.strictEqual(t.isDisposed, false, `${trap}: a tensor reachable through the proxy was disposed`);
    if (!t.isDisposed) t.dispose();
  }
});

test('an honest Proxy around an object or an array: its tensors are kept', () => {
  let a;
  let b;
  const { result } = tidyClosed(() => {
    a = tg.ones([1]);
    b = tg.ones([1]);
    return { obj: new Proxy({ a }, {}), arr: new Proxy([b], {}) };
  });
  assert.strictEqual(a.isDisposed, false);
  assert.strictEqual(b.isDisposed, false);
  assert.ok(result.obj);
  tg.dispose([a, b]);
});

test('a revoked Proxy, alone or inside the result: the scope closes', () => {
  for (const wrap of [(p) => p, (p) => ({ p }), (p) => [1, p]]) {
    let t;
    const { error } = tidyClosed(() => {
      t = tg.ones([1]);
      const { proxy, revoke } = Proxy.revocable({ t }, {});
      revoke();
      return wrap(proxy);
    });
    assert.ok(error === undefined || error instanceof TypeError, String(error));
    assert.strictEqual(t.isDisposed, true);
  }
});

test('cycles and deep nesting in the result: kept tensors found, no stack overflow', () => {
  let t;
  let deep;
  const { result, error } = tidyClosed(() => {
    t = tg.ones([1]);
    const o = { t };
    o.self = o;
    const a = [o];
    a.push(a);
    deep = { t: tg.zeros([1]) };
    let head = deep;
    for (let i = 0; i < 200000; i++) head = { next: head };
    return { a, head };
  });
  assert.strictEqual(error, undefined);
  assert.ok(result.a);
  assert.strictEqual(t.isDisposed, false);
  assert.strictEqual(deep.t.isDisposed, false);
  tg.dispose([t, deep.t]);
});

test('a huge sparse array and a long dense one: searched in time linear in what they hold', () => {
  let t;
  const start = Date.now();
  const { result } = tidyClosed(() => {
    t = tg.ones([1]);
    const sparse = [];
    sparse.length = 2 ** 32 - 1;
    sparse[2 ** 32 - 2] = t;
    const dense = new Array(1e6).fill(0);
    return { sparse, dense };
  });
  assert.ok(Date.now() - start < 5000, `took ${Date.now() - start} ms`);
  assert.strictEqual(result.sparse[2 ** 32 - 2], t);
  assert.strictEqual(t.isDisposed, false);
  t.dispose();
});

test('Maps are searched without calling an overridden values() on the instance', () => {
  let t;
  const { error } = tidyClosed(() => {
    t = tg.ones([1]);
    const m = new Map([['t', t]]);
    m.values = () => {
      throw new Error('overridden');
    };
    return m;
  });
  assert.strictEqual(error, undefined);
  assert.strictEqual(t.isDisposed, false);
  t.dispose();
});

test('a Promise or any thenable result: refused with a TypeError, the scope closed, nothing kept', () => {
  const cases = {
    promise: (t) => Promise.resolve(t),
    thenable: (t) => ({ t, then(r) { r(t); } }),
    'thenable by prototype': (t) => Object.assign(Object.create({ then() {} }), { t }),
    'function thenable': (t) => Object.assign(() => t, { then() {} }),
  };
  for (const [name, make] of Object.entries(cases)) {
    let t;
    const { error } = tidyClosed(() => {
      t = tg.ones([1]);
      return make(t);
    });
    assert.ok(error instanceof TypeError, `${name}: ${error}`);
    assert.match(error.message, /synchronous/);
    assert.strictEqual(t.isDisposed, true, name);
  }
});

test('a thenable whose then getter throws: the getter is not run, the scope closes', () => {
  let t;
  const { error } = tidyClosed(() => {
    t = tg.ones([1]);
    return { t, get then() { throw new Error('then getter'); } };
  });
  assert.strictEqual(error, undefined);
  assert.strictEqual(t.isDisposed, false);
  t.dispose();
});

test('a callback that throws a non-Error, or a Proxy callback: the scope closes', () => {
  const { error } = tidyClosed(() => {
    tg.ones([1]);
    throw 42;
  });
  assert.strictEqual(error, 42);
  const fn = new Proxy(() => tg.ones([1]), { apply() { throw new Error('apply'); } });
  assert.strictEqual(tidyClosed(fn).error.message, 'apply');
});

test('nested tidy with a bad inner result: both scopes close', () => {
  let outer;
  const { error } = tidyClosed(() => {
    outer = tg.ones([1]);
    tg.tidy(() => ({ get bad() { throw new Error('inner'); } }));
    tg.tidy(() => Promise.resolve(1)).catch(() => {});
    return outer;
  });
  assert.ok(error instanceof TypeError);
  assert.strictEqual(outer.isDisposed, true);
});

test('dispose(value) walks the same way: getters not run, cycles and Proxies safe', () => {
  const t = tg.ones([1]);
  const u = tg.ones([1]);
  const o = { t, get bad() { throw new Error('x'); } };
  o.self = o;
  tg.dispose([o, new Proxy({ u }, {})]);
  assert.strictEqual(t.isDisposed, true);
  assert.strictEqual(u.isDisposed, true);
});
