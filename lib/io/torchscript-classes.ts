/**
 * Reads, as text, which attributes of each TorchScript module class are parameters and buffers: the `__parameters__`
 * and `__buffers__` lists that `torch.jit.save` writes at the top of every class in `code/`. Nothing is compiled or run;
 * this is what lets `tg.io.load` take an archive's weights without LibTorch's TorchScript compiler.
 */

/** What the archive's code declares about one class. */
export interface ScriptClass {
  /** Whether it derives from `Module` (only modules hold parameters, buffers and submodules). */
  isModule: boolean;
  parameters: Set<string>;
  buffers: Set<string>;
}

/** The longest line looked at: class headers and attribute lists are short. */
const MAX_LINE = 1 << 20;

/** The module a code record defines: `code/__torch__/torch/nn/modules/linear.py` → `__torch__.torch.nn.modules.linear`. */
export function codeModuleName(pathInCode: string): string | undefined {
  const m = /^(__torch__(?:\/[A-Za-z_][A-Za-z0-9_]*)*)\.py$/.exec(pathInCode);
  return m ? m[1].replace(/\//g, '.') : undefined;
}

/** The quoted names of a list literal (`["weight", "bias", ]`), or undefined when it is not a list of strings. */
function stringList(rhs: string): string[] | undefined {
  const m = /^\[\s*((?:"[^"\\]*"\s*,\s*)*(?:"[^"\\]*"\s*)?)\]$/.exec(rhs.trim());
  if (!m) return undefined;
  return [...m[1].matchAll(/"([^"\\]*)"/g)].map((x) => x[1]);
}

/**
 * The classes one code record defines, by qualified name.
 * @param moduleName the record's module (codeModuleName).
 * @param source the record's text.
 * @param problem called with what is wrong (a class list that is not a list of strings).
 */
export function scriptClassesOf(moduleName: string, source: string, problem: (p: string) => never): Map<string, ScriptClass> {
  const out = new Map<string, ScriptClass>();
  let current: ScriptClass | undefined;
  let currentName = '';
  for (const raw of source.split('\n')) {
    const line = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    const head = /^class ([A-Za-z_][A-Za-z0-9_]*)\(([A-Za-z_][A-Za-z0-9_.]*)\):\s*$/.exec(line);
    if (head) {
      currentName = `${moduleName}.${head[1]}`;
      current = { isModule: head[2] === 'Module', parameters: new Set(), buffers: new Set() };
      out.set(currentName, current);
      continue;
    }
    if (!/^\s/.test(line)) current = undefined; // a top-level statement ends the class body
    if (!current) continue;
    const list = /^ {2}(__parameters__|__buffers__)\s*=\s*(.*)$/.exec(line);
    if (!list) continue;
    const names = stringList(list[2]) ?? problem(`class '${currentName}' declares ${list[1]} as something other than a list of names`);
    const into = list[1] === '__parameters__' ? current.parameters : current.buffers;
    for (const n of names) into.add(n);
  }
  return out;
}
