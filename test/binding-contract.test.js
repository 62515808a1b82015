// The JS-native contract: lib/binding.ts and lib/tensor.ts name exactly what the loaded addon registers, both ways.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

// Only the loader: lib/tensor.ts would add its TypeScript members to the native prototype.
const { binding } = require('../dist/native.js');
const nativeTensorNames = Object.getOwnPropertyNames(binding.TensorOps);

// Members of `interface Tensor` that lib/tensor.ts defines in TypeScript on the native prototype.
const ADDED_IN_TYPESCRIPT = [
  'data', // over _dataAsync: the bytes as the dtype's TypedArray
  'dataSync', // over _dataSync, likewise
  'toArray', // nested arrays from dataSync
  'to', // parses a device, a dtype or options, then calls _to
  'backward', // an options object over _backward's positions
  'dim', // torch.Tensor.dim(): ndim
  '[Symbol.dispose]', // for `using`
];

/** The member names of an interface declared in a lib/ file, read by the TypeScript compiler's parser. */
function interfaceMembers(file, name) {
  const src = ts.createSourceFile(file, fs.readFileSync(path.join(__dirname, '..', 'lib', file), 'utf8'), ts.ScriptTarget.Latest, true);
  let decl;
  src.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n) && n.name.text === name) decl = n;
  });
  assert.ok(decl, `lib/${file} declares interface ${name}`);
  assert.strictEqual(decl.heritageClauses, undefined, `${name}: members of extended interfaces would be missed`);
  const names = decl.members.map((m) => {
    assert.ok(m.name, `${name}: a member without a name (call or index signature) at ${m.getText(src)}`);
    return ts.isComputedPropertyName(m.name) ? `[${m.name.expression.getText(src)}]` : m.name.getText(src);
  });
  return [...new Set(names)]; // overloads (max, min) name one member
}

/** A class prototype's own methods and accessors, without its constructor. */
function protoNames(proto) {
  return Object.getOwnPropertyNames(proto).filter((k) => k !== 'constructor');
}

/** Fails naming what each side has that the other lacks. */
function assertSameNames(nativeNames, typedNames, what) {
  const typed = new Set(typedNames);
  const native = new Set(nativeNames);
  const untyped = [...native].filter((k) => !typed.has(k)).sort();
  const missing = [...typed].filter((k) => !native.has(k)).sort();
  assert.deepStrictEqual(
    { untyped, missing },
    { untyped: [], missing: [] },
    `${what}: untyped = registered by the addon but not declared; missing = declared but not registered`,
  );
}

test('Binding names every export of the addon (non-enumerable ones too), and nothing else', () => {
  assertSameNames(Object.getOwnPropertyNames(binding), interfaceMembers('binding.ts', 'Binding'), 'interface Binding');
});

test("the addon's classes and tables match their interfaces", () => {
  assertSameNames(Object.getOwnPropertyNames(binding.functional), interfaceMembers('binding.ts', 'NativeFunctional'), 'interface NativeFunctional');
  assertSameNames(protoNames(binding.Optimizer.prototype), interfaceMembers('binding.ts', 'NativeOptimizer'), 'interface NativeOptimizer');
  assertSameNames(protoNames(binding.ScriptModule.prototype), interfaceMembers('binding.ts', 'NativeScriptModule'), 'interface NativeScriptModule');
});

test("the native Tensor prototype is interface Tensor, less what TypeScript adds, plus TensorInternals", () => {
  const publicTyped = interfaceMembers('tensor.ts', 'Tensor');
  for (const k of ADDED_IN_TYPESCRIPT) assert.ok(publicTyped.includes(k), `ADDED_IN_TYPESCRIPT names ${k}, which interface Tensor lacks`);
  const typed = [...publicTyped.filter((k) => !ADDED_IN_TYPESCRIPT.includes(k)), ...interfaceMembers('binding.ts', 'TensorInternals')];
  assertSameNames(nativeTensorNames, typed, 'interface Tensor + TensorInternals');
});

test('what ADDED_IN_TYPESCRIPT lists is native-free and defined once lib/tensor.ts loads', () => {
  const proto = binding.Tensor.prototype;
  const key = (k) => (k === '[Symbol.dispose]' ? Symbol.dispose : k);
  for (const k of ADDED_IN_TYPESCRIPT) assert.ok(!Object.prototype.hasOwnProperty.call(proto, key(k)), `${k} is native already`);
  require('../dist/tensor.js');
  for (const k of ADDED_IN_TYPESCRIPT) assert.strictEqual(typeof proto[key(k)], 'function', `lib/tensor.ts defines ${k}`);
});
