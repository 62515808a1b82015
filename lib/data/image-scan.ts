/** Listing an image folder as torchvision's find_classes and make_dataset do, with each file's header checked. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import type { NodeBuffer } from '../portable-types';

/** torchvision's default IMG_EXTENSIONS (BMP, PPM and PGM are listed but sharp cannot decode them: they are reported invalid). */
export const IMG_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp']);

/** How a folder is listed. */
export interface ScanOptions {
  extensions: readonly string[];
  /** Follow symbolic links that lead out of the root (default false: such links are invalid files / ignored folders). */
  followLinksOutside: boolean;
}

/** A listed folder: sorted class names, [path, classIndex] pairs in torchvision's order, and the files refused. */
export interface Scan {
  classes: string[];
  samples: [string, number][];
  invalid: { file: string; why: string }[];
}

/**
 * Lists `root` as torchvision's ImageFolder: one class per sub-folder (sorted by name), its files found recursively
 * (folders in sorted path order, files sorted within each) whose lower-cased name ends with one of `extensions`.
 * Differences, on purpose: names starting with '.' are skipped (`.ipynb_checkpoints`, macOS `._` files); a link that
 * leads out of the root is not followed unless `followLinksOutside`; each file's first bytes are checked (empty,
 * unreadable, not an image, or a format sharp cannot decode), and refused files are listed in `invalid`.
 * @throws TorchError ERR_IMAGE_FOLDER when root is not a folder, has no class folder, or a class has no valid file.
 */
export function scanFolder(root: string, o: ScanOptions): Scan {
  let realRoot: string;
  let folder: boolean;
  try {
    realRoot = fs.realpathSync(root);
    folder = fs.statSync(realRoot).isDirectory();
  } catch (e) {
    throw new TorchError(`ImageFolder: ${root} is not a readable folder (${(e as Error).message})`, { code: 'ERR_IMAGE_FOLDER', cause: e });
  }
  if (!folder) throw new TorchError(`ImageFolder: ${root} is not a readable folder (not a folder)`, { code: 'ERR_IMAGE_FOLDER' });
  const inside = (p: string): boolean => o.followLinksOutside || p === realRoot || p.startsWith(realRoot + path.sep);
  const classes = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && isDir(path.join(root, e.name), inside))
    .map((e) => e.name)
    .sort(byCodePoint);
  if (classes.length === 0) throw new TorchError(`ImageFolder: couldn't find any class folder in ${root}`, { code: 'ERR_IMAGE_FOLDER' });
  const exts = o.extensions.map((e) => e.toLowerCase());
  const samples: [string, number][] = [];
  const invalid: { file: string; why: string }[] = [];
  const empty: string[] = [];
  classes.forEach((cls, k) => {
    let found = 0;
    for (const dir of walk(path.join(root, cls), inside)) {
      const names = fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.') && exts.some((x) => e.name.toLowerCase().endsWith(x)))
        .map((e) => e.name)
        .sort(byCodePoint);
      for (const name of names) {
        const file = path.join(dir, name);
        const why = checkFile(file, inside);
        if (why === 'folder') continue;
        if (why) invalid.push({ file, why });
        else {
          samples.push([file, k]);
          found++;
        }
      }
    }
    if (found === 0) empty.push(cls);
  });
  if (empty.length > 0)
    throw new TorchError(
      `ImageFolder: found no valid file for the classes ${empty.join(', ')}. Supported extensions are: ${o.extensions.join(', ')}` +
        (invalid.length ? ` (${invalid.length} file(s) refused; first: ${invalid[0].file}: ${invalid[0].why})` : ''),
      { code: 'ERR_IMAGE_FOLDER' },
    );
  return { classes, samples, invalid };
}

// Python's sorted() on str compares code points; JS's default sort compares UTF-16 units (they differ past U+FFFF).
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function isDir(p: string, inside: (real: string) => boolean): boolean {
  try {
    return fs.statSync(p).isDirectory() && inside(fs.realpathSync(p));
  } catch {
    return false;
  }
}

// Folders under dir (itself first), in sorted path order as sorted(os.walk(dir, followlinks=True)); each real folder once.
function walk(dir: string, inside: (real: string) => boolean): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (d: string): void => {
    const real = fs.realpathSync(d);
    if (seen.has(real)) return; // a link back up the tree
    seen.add(real);
    out.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (!e.name.startsWith('.') && isDir(p, inside)) visit(p);
    }
  };
  visit(dir);
  return out.sort(byCodePoint);
}

/** Why a file cannot be an image sample ('' when it looks like one sharp decodes; 'folder' for a folder so named). */
function checkFile(file: string, inside: (real: string) => boolean): string {
  let fd: number | undefined;
  try {
    const real = fs.realpathSync(file);
    if (!inside(real)) return 'a link that leads out of the root (option followLinksOutside)';
    const st = fs.statSync(real);
    if (st.isDirectory()) return 'folder';
    if (!st.isFile()) return 'not a regular file';
    if (st.size === 0) return 'empty (0 bytes)';
    fd = fs.openSync(real, 'r');
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    return sniff(head.subarray(0, n));
  } catch (e) {
    return `unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** '' for a header sharp decodes (JPEG, PNG, GIF, WebP, TIFF, AVIF/HEIF), else why not. */
export function sniff(h: NodeBuffer): string {
  const ascii = (a: number, b: number): string => h.subarray(a, b).toString('latin1');
  if (h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff) return '';
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return '';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return '';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return '';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return '';
  if (ascii(4, 8) === 'ftyp') return '';
  if (ascii(0, 2) === 'BM') return 'a BMP image, which sharp cannot decode (convert it to PNG)';
  if (/^P[1-7]\s/.test(ascii(0, 3))) return 'a PPM/PGM image, which sharp cannot decode (convert it to PNG)';
  return 'not an image (no JPEG, PNG, GIF, WebP, TIFF or AVIF signature)';
}
