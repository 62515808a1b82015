/**
 * Loads the native addon: TORCHGRAFT_BINARY if set (and then only it), else the local build, else the prebuilt binary
 * whose LibTorch variant matches the LibTorch found here, else throws one error naming the fixes.
 *
 * LibTorch is looked for in this order: LIBTORCH; a LibTorch shipped beside the app (<resources>/libtorch in Electron,
 * libtorch/ beside the executable, libtorch/ inside this package); a Python PyTorch; the system's. The first two are
 * chosen on purpose, so a binary built for that LibTorch version is linked against them before its rpath (the build
 * machine's LibTorch folder) is consulted: an app that ships LibTorch runs on it, whatever else is installed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchError } from './errors';
import type { Binding } from './binding';
import { installTensorClass } from './tensor-class';

export type { Binding } from './binding';

/** Package root (dist/.. or lib/..). */
export const packageRoot = path.resolve(__dirname, '..');

const RTLD_NODELETE = 0x1000; // keeps preloaded LibTorch libraries mapped although they register no module

/** One LibTorch installation, as scripts/find-libtorch.js describes it. */
export interface LibTorchInstall {
  source: 'LIBTORCH' | 'bundled' | 'python' | 'system';
  how: string;
  /** the folder holding lib/ (for the system's, the parent of its library folder) */
  root?: string;
  libDir: string;
  /** e.g. "2.11.0"; '' when unknown */
  version: string;
  /** CUDA version ("13.0"), 'unknown' for a CUDA build of unknown version, null for a CPU build */
  cuda: string | null;
  cxx11Abi: boolean | null;
  /** the prebuilt variant that fits it, e.g. torch-1.13-cpu */
  variant: string;
}

/** A prebuilt binary and the LibTorch it was built against. */
export interface PrebuiltCandidate {
  file: string;
  variant: string;
  torchVersion: string;
  cuda: string | null;
  /** the C++11 ABI it was compiled with (from manifest.json); undefined when not recorded */
  cxx11Abi?: boolean | null;
}

interface Attempt {
  file: string;
  error: string;
}

interface NodeGypBuildTags {
  file: string;
}
interface NodeGypBuild {
  parseTags(file: string): NodeGypBuildTags | undefined;
  matchTags(runtime: string, abi: string): (t: NodeGypBuildTags | undefined) => boolean;
  compareTags(runtime: string): (a: NodeGypBuildTags, b: NodeGypBuildTags) => number;
}

interface Finder {
  findAll(): LibTorchInstall[];
  fromLibTorchEnv(): LibTorchInstall | null;
  fromFolder(root: string, source: string, how: string): LibTorchInstall;
  isLibTorchFolder(root: string): boolean;
}

function finder(root: string): Finder {
  // scripts/ ships in the package: one discovery for CMake's helpers, binding.gyp, the prebuild script and this loader
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(root, 'scripts', 'find-libtorch.js')) as Finder;
}

/**
 * The folders an app may ship LibTorch in (each one holding lib/libtorch.so...), in the order they are looked at:
 * Electron's resources folder (electron-builder's extraResources, Forge's extraResource), a folder beside the
 * executable (a Node single-executable app), and a folder inside this package.
 */
export function bundledLibTorchDirs(root = packageRoot): string[] {
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  const dirs = [
    ...(resources ? [path.join(resources, 'libtorch')] : []),
    path.join(path.dirname(process.execPath), 'libtorch'),
    path.join(root, 'libtorch'),
  ];
  return [...new Set(dirs)];
}

/** The LibTorch chosen on purpose: LIBTORCH, then one shipped beside the app. Cheap: it starts no Python. */
export function pinnedLibTorch(root = packageRoot): LibTorchInstall[] {
  try {
    const f = finder(root);
    const env = f.fromLibTorchEnv();
    const bundled = bundledLibTorchDirs(root)
      .filter((d) => f.isLibTorchFolder(d))
      .map((d) => f.fromFolder(d, 'bundled', `LibTorch shipped beside the app (${d})`));
    return [...(env ? [env] : []), ...bundled];
  } catch {
    return [];
  }
}

/** Where LibTorch is, in the documented order: LIBTORCH, shipped beside the app, Python PyTorch, the system. */
export function findLibTorch(root = packageRoot): LibTorchInstall[] {
  try {
    const all = finder(root).findAll();
    const pinned = pinnedLibTorch(root);
    return [...pinned, ...all.filter((lt) => !pinned.some((p) => p.libDir === lt.libDir))];
  } catch {
    return [];
  }
}

function parseVariant(name: string): { torchVersion: string; cuda: string | null } | undefined {
  const m = name.match(/^torch-(\d+\.\d+)-(cpu|cuda|cu(\d+)(\d))$/);
  if (!m) return undefined;
  return { torchVersion: m[1], cuda: m[2] === 'cpu' ? null : m[3] ? `${m[3]}.${m[4]}` : 'unknown' };
}

/** The prebuilt binaries for this platform, one per LibTorch variant folder (the best Node-API flavour in each). */
export function prebuiltCandidates(root = packageRoot): PrebuiltCandidate[] {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const out: PrebuiltCandidate[] = [];
  for (const variant of fs.readdirSync(dir).sort()) {
    const vdir = path.join(dir, variant);
    if (!fs.statSync(vdir).isDirectory()) continue;
    // node-gyp-build's own tag rules pick napi/glibc/musl files that fit this process
    const files = fs
      .readdirSync(vdir)
      .map((f) => ngb.parseTags(f))
      .filter(ngb.matchTags('node', process.versions.modules)) as NodeGypBuildTags[];
    const best = files.sort(ngb.compareTags('node'))[0];
    if (!best) continue;
    let meta: { torchVersion?: string; cuda?: string | null; cxx11Abi?: boolean | null } | undefined;
    try {
      meta = JSON.parse(fs.readFileSync(path.join(vdir, 'manifest.json'), 'utf8'));
    } catch {
      meta = undefined;
    }
    const fromName = parseVariant(variant);
    out.push({
      file: path.join(vdir, best.file),
      variant,
      torchVersion: meta?.torchVersion ?? fromName?.torchVersion ?? '',
      cuda: meta?.cuda !== undefined ? meta.cuda : fromName?.cuda ?? null,
      cxx11Abi: meta?.cxx11Abi,
    });
  }
  return out;
}

const majorMinor = (v: string) => (v.match(/^(\d+\.\d+)/) || [])[1] || '';

/**
 * How well a prebuilt fits a LibTorch: 0 = not at all, 2 = same version and CPU/CUDA, 3 = same CUDA version too.
 * A different C++11 ABI, where both are known, is no fit (a pip wheel before 2.7 has the old one, Debian's the new).
 */
export function matchScore(
  c: Pick<PrebuiltCandidate, 'torchVersion' | 'cuda' | 'cxx11Abi'>,
  lt: Pick<LibTorchInstall, 'version' | 'cuda'> & Partial<Pick<LibTorchInstall, 'cxx11Abi'>>,
): number {
  if (!majorMinor(c.torchVersion) || majorMinor(c.torchVersion) !== majorMinor(lt.version)) return 0;
  if (!c.cuda !== !lt.cuda) return 0;
  if (typeof c.cxx11Abi === 'boolean' && typeof lt.cxx11Abi === 'boolean' && c.cxx11Abi !== lt.cxx11Abi) return 0;
  if (!c.cuda) return 3;
  return majorMinor(c.cuda) && majorMinor(c.cuda) === majorMinor(lt.cuda ?? '') ? 3 : 2;
}

/**
 * Orders prebuilt binaries by how well they match the LibTorch installs (which come in the documented order):
 * a match with the first install first, then matches with later ones, then the rest (kept: they may still load).
 */
export function orderByMatch(cands: PrebuiltCandidate[], installs: LibTorchInstall[]): { cand: PrebuiltCandidate; install?: LibTorchInstall }[] {
  const ranked = cands.map((cand, i) => {
    let rank = Number.MAX_SAFE_INTEGER;
    let install: LibTorchInstall | undefined;
    installs.forEach((lt, j) => {
      const s = matchScore(cand, lt);
      const r = j * 4 + (3 - s);
      if (s > 0 && r < rank) {
        rank = r;
        install = lt;
      }
    });
    return { cand, install, rank, i };
  });
  ranked.sort((a, b) => a.rank - b.rank || a.i - b.i);
  return ranked.map(({ cand, install }) => ({ cand, install }));
}

/** libtorch_cpu.so, else its versioned name (libtorch_cpu.so.1.13: the soname a copied Debian LibTorch keeps). */
function libFile(libDir: string, name: string): string | undefined {
  const exact = path.join(libDir, name);
  if (fs.existsSync(exact)) return exact;
  let names: string[];
  try {
    names = fs.readdirSync(libDir).filter((f) => f.startsWith(`${name}.`) && /^(\.\d+)+$/.test(f.slice(name.length)));
  } catch {
    return undefined;
  }
  return names.length ? path.join(libDir, names.sort((a, b) => a.length - b.length)[0]) : undefined;
}

/**
 * Maps a LibTorch's libraries into the process (global symbols) so a binary links against them: the dynamic linker
 * takes a library already loaded under the soname the binary needs before it looks in the binary's rpath.
 * Returns what failed to map ('' when all did).
 */
function preload(libDir: string): string {
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  const failed: string[] = [];
  for (const name of ['libc10.so', 'libc10_cuda.so', 'libtorch_cpu.so', 'libtorch_cuda.so', 'libtorch.so']) {
    const file = libFile(libDir, name);
    if (!file) continue;
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, file, flags);
    } catch (e) {
      // "did not self-register" is expected: the library is mapped all the same
      const msg = (e as Error).message.split('\n')[0];
      if (!/did not self-register/.test(msg)) failed.push(`${name}: ${msg}`);
    }
  }
  return failed.join('; ');
}

/** What build/torchgraft-build.json (written by the CMake build) says the local build was built against. */
function localBuildInfo(root: string): Pick<PrebuiltCandidate, 'torchVersion' | 'cuda' | 'cxx11Abi'> | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(root, 'build', 'torchgraft-build.json'), 'utf8'));
    return typeof info.torchVersion === 'string' ? { torchVersion: info.torchVersion, cuda: info.cuda ?? null, cxx11Abi: info.cxx11Abi } : undefined;
  } catch {
    return undefined;
  }
}

/** The JS-native contract this lib/ speaks (native/addon.cc exports the addon's as addonApi). */
const ADDON_API = 6;

function tryLoad(file: string, attempts: Attempt[]): Binding | undefined {
  if (!fs.existsSync(file)) {
    attempts.push({ file, error: 'no such file' });
    return undefined;
  }
  const mod = { exports: {} } as NodeJS.Module;
  try {
    // RTLD_NOW: a binary built for another LibTorch fails here, not later at its first call.
    process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW);
    // the addon's exports are what lib/binding.ts declares (test/binding-contract.test.js checks it)
    const api = (mod.exports as { addonApi?: unknown }).addonApi;
    if (api !== ADDON_API) {
      const built = typeof api === 'number' ? `addon API ${api}` : 'an addon API before 2';
      attempts.push({ file, error: `built from another version of torchgraft (${built}; this JavaScript needs ${ADDON_API}): rebuild it (npx torchgraft build)` });
      return undefined;
    }
    return mod.exports as Binding;
  } catch (e) {
    attempts.push({ file, error: (e as Error).message.split('\n')[0] });
    return undefined;
  }
}

/** A LibTorch folder of unknown version is never mapped under a binary (it may be another version): say how to name it. */
function versionUnknown(lt: LibTorchInstall): string {
  return (lt.source === 'LIBTORCH' || lt.source === 'bundled') && lt.root
    ? `(version unknown: write it into ${path.join(lt.root, 'build-version')}, e.g. 2.6.0, as LibTorch zips carry it)`
    : '(version unknown)';
}

/** `LibTorch 2.6 (CPU)`, `LibTorch 2.11 (CUDA 13.0)`, for messages. */
function describeBuild(x: { torchVersion?: string; version?: string; cuda: string | null }): string {
  const v = x.torchVersion ?? x.version ?? '';
  return `LibTorch ${majorMinor(v) || v} (${x.cuda ? `CUDA ${x.cuda}` : 'CPU'})`;
}

/** The file the addon was loaded from (set by loadBinding). */
export let bindingFile = '';
/** The LibTorch the loader mapped before the addon ('' when the addon's own rpath found LibTorch). */
export let preloadedLibTorch = '';

/** Loads the addon once; throws one error listing what was tried and how to fix it. */
export function loadBinding(root = packageRoot): Binding {
  const attempts: Attempt[] = [];
  let installs: LibTorchInstall[] | undefined;
  let preloaded: LibTorchInstall | undefined;
  /** Maps a LibTorch (once per process: a second one would clash with the first) and notes any failure on the next attempt. */
  const mapLibTorch = (lt: LibTorchInstall): string => {
    preloaded = lt;
    preloadedLibTorch = lt.libDir;
    const failed = preload(lt.libDir);
    return failed ? ` (with ${lt.how} preloaded; ${failed})` : ` (with ${lt.how} preloaded)`;
  };
  const tryWith = (file: string, note: string): Binding | undefined => {
    const b = tryLoad(file, attempts);
    if (!b && note && attempts.length) attempts[attempts.length - 1].error += note;
    return b;
  };
  const explicit = process.env.TORCHGRAFT_BINARY;
  if (explicit) {
    // an explicit choice is the only one: silently loading another binary would hide the mistake
    const b = tryLoad(path.resolve(explicit), attempts);
    if (b) return ((bindingFile = path.resolve(explicit)), b);
  } else {
    // LIBTORCH or a LibTorch shipped beside the app; found without starting Python
    const pinned = pinnedLibTorch(root);
    const local = path.join(root, 'build', 'Release', 'torchgraft.node');
    if (fs.existsSync(local)) {
      const info = localBuildInfo(root);
      const lt = info && pinned.find((p) => matchScore(info, p) > 0);
      const b = tryWith(local, lt ? mapLibTorch(lt) : '');
      if (b) return ((bindingFile = local), b);
    }
    const prebuilt = prebuiltCandidates(root);
    // with one variant and no LibTorch chosen on purpose there is nothing to order: look for LibTorch (it may start
    // Python) only if it does not load as it is
    const triedPlain = new Set<string>();
    if (prebuilt.length === 1 && !pinned.length && !preloaded) {
      triedPlain.add(prebuilt[0].file);
      const b = tryLoad(prebuilt[0].file, attempts);
      if (b) return ((bindingFile = prebuilt[0].file), b);
    }
    const triedPreloaded = new Set<string>();
    /** Tries the prebuilt binaries in their order of match with these installs; matchedOnly: those that match one. */
    const tryPrebuilt = (list: LibTorchInstall[], matchedOnly: boolean): Binding | undefined => {
      const known = list.filter((lt) => lt.version);
      for (const { cand, install } of orderByMatch(prebuilt, list)) {
        if (matchedOnly && !install) continue;
        if (!install && cand.torchVersion && known.length) {
          // built for a LibTorch that is not here: loading it would fail, or bind to another version's symbols
          const why = `built for ${describeBuild(cand)}, and the LibTorch found is ${known.map(describeBuild).join(', ')}`;
          const earlier = attempts.find((a) => a.file === cand.file);
          if (earlier) earlier.error += ` (${why})`;
          else attempts.push({ file: cand.file, error: `${why}: not loaded` });
          continue;
        }
        // once one LibTorch is mapped globally, a binary for another would bind to the wrong symbols
        if (preloaded && install?.libDir !== preloaded.libDir) continue;
        if (preloaded && triedPreloaded.has(cand.file)) continue;
        let b: Binding | undefined;
        if (!preloaded && install && (install.source === 'LIBTORCH' || install.source === 'bundled')) {
          // chosen on purpose: map it first, so the binary's rpath (the build machine's LibTorch) is not used
          b = tryWith(cand.file, mapLibTorch(install));
        } else {
          b = triedPlain.has(cand.file) ? undefined : tryLoad(cand.file, attempts);
          if (!b && install && !preloaded) {
            // the binary's rpath names the build machine's LibTorch folder; map the matching one found here and retry
            b = tryWith(cand.file, mapLibTorch(install));
          }
        }
        if (preloaded) triedPreloaded.add(cand.file);
        if (b) return ((bindingFile = cand.file), b);
      }
      return undefined;
    };
    if (prebuilt.length) {
      // LIBTORCH or a shipped LibTorch with a binary for it needs no search (which may start Python)
      const b = (pinned.length && tryPrebuilt(pinned, true)) || tryPrebuilt((installs = findLibTorch(root)), false);
      if (b) return b;
    }
  }
  installs ??= findLibTorch(root);
  const tried = attempts.length
    ? attempts.map((a) => `  - ${path.relative(root, a.file) || a.file}: ${a.error}`).join('\n')
    : `  (no local build in build/Release and no prebuilt binary for ${process.platform}-${process.arch})`;
  const found = installs.length
    ? installs.map((lt) => `  - ${lt.how}: LibTorch ${lt.version || versionUnknown(lt)}${lt.cuda ? `, CUDA ${lt.cuda}` : ', CPU'}`).join('\n')
    : '  (none: set LIBTORCH to a LibTorch folder, install PyTorch for Python, or apt-get install libtorch-dev libopenblas0-pthread)';
  const fixes = [
    '  - build it from source against the LibTorch found (LIBTORCH, else Python PyTorch, else the system):  npx torchgraft build',
    "  - or allow torchgraft's install script and reinstall:  npm approve-scripts torchgraft && npm rebuild torchgraft",
  ];
  if (explicit) fixes.push('  - or unset TORCHGRAFT_BINARY, which names the only binary tried');
  throw new TorchError(
    ['torchgraft: could not load the native addon.', 'Tried:', tried, 'LibTorch found:', found, 'Fix it in one of these ways:', ...fixes].join('\n'),
    { code: 'ERR_NATIVE_LOAD' },
  );
}

/** The loaded addon. */
export const binding: Binding = loadBinding();
binding.setErrorClass(TorchError);
installTensorClass(binding);
