/**
 * Loads the native addon: TORCHGRAFT_BINARY if set (and then only it), else the local build, else the prebuilt binary
 * whose LibTorch variant matches the LibTorch found here, else throws one error naming the fixes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Binding = any;

/** Package root (dist/.. or lib/..). */
export const packageRoot = path.resolve(__dirname, '..');

const RTLD_NODELETE = 0x1000; // keeps preloaded LibTorch libraries mapped although they register no module

/** One LibTorch installation, as scripts/find-libtorch.js describes it. */
export interface LibTorchInstall {
  source: 'LIBTORCH' | 'python' | 'system';
  how: string;
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

/** Where LibTorch is, in the documented order: LIBTORCH, Python PyTorch, the system (shared with the builds). */
export function findLibTorch(): LibTorchInstall[] {
  // scripts/ ships in the package: one discovery for CMake's helpers, binding.gyp, the prebuild script and this loader
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const finder = require(path.join(packageRoot, 'scripts', 'find-libtorch.js')) as { findAll(): LibTorchInstall[] };
  try {
    return finder.findAll();
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
  // eslint-disable-next-line @typescript-eslint/no-var-requires
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
    let meta: { torchVersion?: string; cuda?: string | null } | undefined;
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
    });
  }
  return out;
}

const majorMinor = (v: string) => (v.match(/^(\d+\.\d+)/) || [])[1] || '';

/** How well a prebuilt fits a LibTorch: 0 = not at all, 2 = same version and CPU/CUDA, 3 = same CUDA version too. */
export function matchScore(c: Pick<PrebuiltCandidate, 'torchVersion' | 'cuda'>, lt: Pick<LibTorchInstall, 'version' | 'cuda'>): number {
  if (!majorMinor(c.torchVersion) || majorMinor(c.torchVersion) !== majorMinor(lt.version)) return 0;
  if (!c.cuda !== !lt.cuda) return 0;
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

/** Maps a LibTorch's libraries into the process (global symbols) so a prebuilt binary links against them. */
function preload(libDir: string): void {
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const name of ['libc10.so', 'libc10_cuda.so', 'libtorch_cpu.so', 'libtorch_cuda.so', 'libtorch.so']) {
    const file = path.join(libDir, name);
    if (!fs.existsSync(file)) continue;
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, file, flags);
    } catch {
      // "did not self-register" is expected: the library is mapped all the same
    }
  }
}

function tryLoad(file: string, attempts: Attempt[]): Binding | undefined {
  if (!fs.existsSync(file)) {
    attempts.push({ file, error: 'no such file' });
    return undefined;
  }
  const mod = { exports: {} } as NodeJS.Module;
  try {
    // RTLD_NOW: a binary built for another LibTorch fails here, not later at its first call.
    process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW);
    return mod.exports;
  } catch (e) {
    attempts.push({ file, error: (e as Error).message.split('\n')[0] });
    return undefined;
  }
}

/** The file the addon was loaded from (set by loadBinding). */
export let bindingFile = '';

/** Loads the addon once; throws one error listing what was tried and how to fix it. */
export function loadBinding(root = packageRoot): Binding {
  const attempts: Attempt[] = [];
  let installs: LibTorchInstall[] | undefined;
  const explicit = process.env.TORCHGRAFT_BINARY;
  if (explicit) {
    // an explicit choice is the only one: silently loading another binary would hide the mistake
    const b = tryLoad(path.resolve(explicit), attempts);
    if (b) return ((bindingFile = path.resolve(explicit)), b);
  } else {
    const local = path.join(root, 'build', 'Release', 'torchgraft.node');
    if (fs.existsSync(local)) {
      const b = tryLoad(local, attempts);
      if (b) return ((bindingFile = local), b);
    }
    const prebuilt = prebuiltCandidates(root);
    // with one variant there is nothing to order: look for LibTorch (it may start Python) only if it does not load as it is
    const triedPlain = new Set<string>();
    if (prebuilt.length === 1) {
      triedPlain.add(prebuilt[0].file);
      const b = tryLoad(prebuilt[0].file, attempts);
      if (b) return ((bindingFile = prebuilt[0].file), b);
    }
    if (prebuilt.length) {
      installs = findLibTorch();
      let preloaded: LibTorchInstall | undefined;
      for (const { cand, install } of orderByMatch(prebuilt, installs)) {
        // once one LibTorch is mapped globally, a binary for another would bind to the wrong symbols
        if (preloaded && install !== preloaded) continue;
        let b = triedPlain.has(cand.file) ? undefined : tryLoad(cand.file, attempts);
        if (!b && install && !preloaded) {
          // the binary's rpath names the build machine's LibTorch folder; map the matching one found here and retry
          preload(install.libDir);
          preloaded = install;
          b = tryLoad(cand.file, attempts);
          if (!b) attempts[attempts.length - 1].error += ` (with ${install.how} preloaded)`;
        }
        if (b) return ((bindingFile = cand.file), b);
      }
    }
  }
  installs ??= findLibTorch();
  const tried = attempts.length
    ? attempts.map((a) => `  - ${path.relative(root, a.file) || a.file}: ${a.error}`).join('\n')
    : `  (no local build in build/Release and no prebuilt binary for ${process.platform}-${process.arch})`;
  const found = installs.length
    ? installs.map((lt) => `  - ${lt.how}: LibTorch ${lt.version || '(version unknown)'}${lt.cuda ? `, CUDA ${lt.cuda}` : ', CPU'}`).join('\n')
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
