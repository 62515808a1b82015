'use strict';
// The class-body check that stands between a TorchScript archive's code and LibTorch's importer, on source text alone.
const test = require('node:test');
const assert = require('node:assert');
const { scriptCodeProblem } = require('../dist/io/torchscript-code-check');

const cls = (...body) => ['class Linear(Module):', ...body.map((l) => `  ${l}`), '  def forward(self: __torch__.Linear, x: Tensor) -> Tensor:', '    y = x', '    return y', ''].join('\n');

test('what torch.jit.save writes passes: the special lists, typed attributes and constants, annotations, methods', () => {
  assert.strictEqual(scriptCodeProblem(cls('__parameters__ = ["weight", "bias", ]', '__buffers__ = []', 'weight : Tensor', 'in_features : Final[int] = 2', '__annotations__["0"] = __torch__.X', 'd : Dict[str, int] = {"a=b": 1}')), undefined);
  // enums and named tuples have their own importer path: their untyped members are fine
  assert.strictEqual(scriptCodeProblem('class Color(Enum):\n  RED = 1\n'), undefined);
});

test('untyped class-level assignments are named, whatever hides them', () => {
  const cases = [
    ['__qarameters__ = ["weight"]', '__qarameters__'],
    ['scale = 3', 'scale'],
    ['(scale) = 3', 'scale'],
    ['weight : Tensor; scale = 3', 'scale'],
    ['s = "a: b"', 's'], // a ':' inside a string is no annotation
  ];
  for (const [line, name] of cases) assert.match(scriptCodeProblem(cls(line)) ?? '', new RegExp(`class 'Linear' assigns '${name.replace(/[()]/g, '\\$&')}' without a type`), line);
  assert.match(scriptCodeProblem(cls('scale \\\n = 3')) ?? '', /assigns 'scale'/, 'a backslash continuation');
  assert.match(scriptCodeProblem('class Linear:\n    scale = 3\n') ?? '', /assigns 'scale'/, 'a plain class, four-space body');
});

test('comparisons, comments, strings and method bodies are not assignments', () => {
  for (const line of ['x : bool = a == b', 'x : bool = a <= b', 'x : bool = a != b', 'weight : Tensor # a = 3', 'f : str = "; c = 3"']) {
    assert.strictEqual(scriptCodeProblem(cls(line)), undefined, line);
  }
});
