/**
 * The weights of a TorchScript archive (`torch.jit.save`) without LibTorch's TorchScript loader: data.pkl is read by
 * the restricted unpickler that `.pt` files use (module objects as plain data, nothing instantiated or run), the code
 * records only as text for which attributes are parameters and buffers, and the tensors are views of their storage
 * records. No TorchScript is compiled, so a damaged or hostile archive can be refused but never crash the process;
 * `tg.io.loadTorchScript` (which must compile the code to run it) is the only path that hands an archive to LibTorch.
 */
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { LoadedWeights, recordOf } from './registry';
import { openZip, ZipArchive } from './zip';
import { unpickle, storageFromPid, PyDict, ScriptObject, TensorRef, describe } from './pickle';
import { PickleGraph, MAX_DEPTH } from './pickle-graph';
import { byteOrder, storageBytes, boundedViews, tensorsOfRefs, dataPklPrefix } from './pytorch';
import { ScriptClass, codeModuleName, scriptClassesOf } from './torchscript-classes';
import { scriptCodeProblem } from './torchscript-code-check';

/** Code records are read only for their class headers; real archives hold kilobytes to a few megabytes of code. */
const MAX_CODE_BYTES = 64 * 2 ** 20;
/** Module objects and names a pickle may expand to, per byte of pickle (plus a floor for small files), as for `.pt`. */
const EXPANSION_PER_BYTE = 8;
const EXPANSION_FLOOR = 2 ** 24;

function fail(file: string, problem: string, code = 'ERR_TORCHSCRIPT'): never {
  throw Object.assign(new TorchError(`io: '${file}': ${problem}`, { code }), { path: file });
}

/** Every class the archive's code records define, by qualified name. */
async function classesOf(zip: ZipArchive, prefix: string): Promise<Map<string, ScriptClass>> {
  const classes = new Map<string, ScriptClass>();
  const codeDir = `${prefix}code/`;
  let total = 0;
  for (const e of zip.entries) {
    if (!e.name.startsWith(codeDir) || !e.name.endsWith('.py')) continue; // debug pickles are never read
    total += e.uncompressedSize;
    if (total > MAX_CODE_BYTES) fail(zip.file, `its code records hold more than ${MAX_CODE_BYTES} bytes`);
    const text = (await zip.read(e, MAX_CODE_BYTES)).toString('utf8');
    // The same refusals as loadTorchScript's, so that both paths agree on what a damaged archive is.
    const problem = scriptCodeProblem(text);
    if (problem) fail(zip.file, `damaged archive: record '${e.name}': ${problem}`);
    const moduleName = codeModuleName(e.name.slice(codeDir.length));
    if (moduleName === undefined) continue; // a name TorchScript would not import
    for (const [name, cls] of scriptClassesOf(moduleName, text, (p) => fail(zip.file, `damaged archive: ${e.name}: ${p}`))) {
      if (classes.has(name)) fail(zip.file, `damaged archive: class '${name}' is defined twice`);
      classes.set(name, cls);
    }
  }
  return classes;
}

/**
 * The parameters and buffers of a module object and its submodules, by dotted name, in PyTorch's `state_dict()` order:
 * a module's own parameters, then its own buffers, then each submodule's, in attribute order. A parameter slot that
 * holds None is left out, as PyTorch leaves it out.
 */
function collect(file: string, classes: Map<string, ScriptClass>, obj: ScriptObject, prefix: string, out: [string, TensorRef][], depth: number): void {
  if (depth > MAX_DEPTH) fail(file, `damaged archive: modules nest deeper than ${MAX_DEPTH} levels`);
  const cls = classes.get(obj.type) ?? fail(file, `damaged archive: data.pkl holds a '${obj.type}', a class its code does not define`);
  const state = obj.state;
  if (!(state instanceof PyDict))
    fail(file, `module '${prefix.slice(0, -1) || obj.type}' (${obj.type}) was saved through a custom __getstate__ (${describe(state)}); load it with tg.io.loadTorchScript()`);
  const attrs = state.map;
  for (const [kind, names] of [['parameter', cls.parameters], ['buffer', cls.buffers]] as const) {
    for (const n of names) if (!attrs.has(n)) fail(file, `damaged archive: ${obj.type} declares the ${kind} '${n}', which the module '${prefix.slice(0, -1)}' does not hold`);
    for (const [k, v] of attrs) {
      if (typeof k !== 'string' || !names.has(k)) continue;
      if (v === null) continue;
      if (!(v instanceof TensorRef)) fail(file, `damaged archive: the ${kind} '${prefix}${k}' holds a ${describe(v)}, not a tensor`);
      out.push([prefix + k, v as TensorRef]);
    }
  }
  for (const [k, v] of attrs) {
    if (typeof k !== 'string' || !(v instanceof ScriptObject) || !classes.get(v.type)?.isModule) continue;
    collect(file, classes, v, `${prefix}${k}.`, out, depth + 1);
  }
}

/**
 * Reads a TorchScript archive's parameters and buffers as a state dict on the CPU, as Python's
 * `torch.jit.load(f).state_dict()` names them, without compiling or running anything from the archive.
 * @param file path to the archive.
 * @returns tensors by dotted name (views sharing storage where the archive shares it: tied weights stay tied);
 *   metadata `typeName` is the root module's TorchScript class.
 * @throws TorchError naming the file: ERR_TORCHSCRIPT for an archive that is damaged or whose modules keep a custom
 *   state, ERR_PICKLE_FORBIDDEN / ERR_PICKLE_CORRUPT / ERR_PICKLE_LIMIT / ERR_PICKLE_CYCLE for its pickle, ERR_ZIP_*,
 *   ERR_PYTORCH_STORAGE / ERR_PYTORCH_TENSOR / ERR_PYTORCH_DTYPE for records and tensors that do not agree, ERR_IO.
 */
export async function loadTorchScriptWeights(file: string): Promise<LoadedWeights> {
  const zip = await openZip(file);
  const made: Tensor[] = [];
  const views = boundedViews(file);
  try {
    const found = dataPklPrefix(zip, 'a TorchScript archive');
    if ('problem' in found) fail(file, found.problem);
    const { prefix } = found as { prefix: string };
    const classes = await classesOf(zip, prefix);
    const order = await byteOrder(zip, prefix);
    const pklEntry = zip.get(`${prefix}data.pkl`)!;
    const pkl = await zip.read(pklEntry, Math.min(zip.size * 1100, 2 ** 31));
    const source = `'${file}' (${pklEntry.name})`;
    const root = unpickle(pkl, source, (pid, at) => storageFromPid(pid, source, at), undefined, 'script');
    new PickleGraph(file, EXPANSION_PER_BYTE * pkl.length + EXPANSION_FLOOR).check(root);
    if (!(root instanceof ScriptObject) || !classes.get(root.type)?.isModule)
      fail(file, `damaged archive: data.pkl holds a ${describe(root)}, not a TorchScript module`);
    const refs: [string, TensorRef][] = [];
    collect(file, classes, root as ScriptObject, '', refs, 0);
    const out = await tensorsOfRefs(file, refs, (s) => storageBytes(zip, prefix, s, order), views, made);
    return { format: 'torchscript', names: out.map((e) => e[0]), tensors: recordOf(out), metadata: { typeName: (root as ScriptObject).type } };
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  } finally {
    views.dispose();
    await zip.close();
  }
}
