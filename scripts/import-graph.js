#!/usr/bin/env node
// The import graph of lib/: value imports between files (type-only imports left out, as they vanish at run time) and
// between folders, its circles (strongly connected components), and the lazy require() calls that hide arrows.
// Usage: node scripts/import-graph.js [--json]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const lib = path.resolve(__dirname, '..', 'lib');

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c)) return c;
  return undefined;
}

/** Value imports of one file: `import x from`, `import { a }` (not `import type`), `export ... from`, require(). */
function importsOf(file) {
  const src = fs.readFileSync(file, 'utf8');
  const out = [];
  const lazy = [];
  for (const m of src.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm)) {
    if (m[1]) continue;
    // `import { type A, type B } from` is type-only too
    const names = /\{([^}]*)\}/.exec(m[0]);
    if (names && names[1].split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()))) continue;
    const to = resolve(file, m[2]);
    if (to) out.push(to);
  }
  for (const m of src.matchAll(/require\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const to = resolve(file, m[1]);
    if (to) {
      out.push(to);
      lazy.push(to);
    }
  }
  return { out, lazy };
}

/** Tarjan's strongly connected components of size > 1. */
function circles(nodes, edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) found.push(comp.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return found;
}

const all = files(lib);
const rel = (f) => path.relative(lib, f);
// A folder's index.ts re-exports it (and lib/index.ts everything): it is its own node, or every folder would be one circle.
const folder = (f) => (path.basename(f) === 'index.ts' ? rel(f).slice(0, -3) : path.dirname(rel(f)));
const fileEdges = new Map();
const lazyRequires = [];
for (const f of all) {
  const { out, lazy } = importsOf(f);
  fileEdges.set(rel(f), new Set(out.map(rel)));
  for (const l of lazy) lazyRequires.push(`${rel(f)} -> ${rel(l)}`);
}
const folderEdges = new Map();
let folderArrows = 0;
for (const [f, tos] of fileEdges) {
  for (const t of tos) {
    const a = folder(path.join(lib, f));
    const b = folder(path.join(lib, t));
    if (a === b) continue;
    if (!folderEdges.has(a)) folderEdges.set(a, new Set());
    if (!folderEdges.get(a).has(b)) folderArrows++;
    folderEdges.get(a).add(b);
  }
}
const fileCircles = circles([...fileEdges.keys()], fileEdges);
const folderCircles = circles([...new Set(all.map(folder))], folderEdges);
const report = {
  files: all.length,
  folders: new Set(all.map(folder)).size,
  fileImports: [...fileEdges.values()].reduce((n, s) => n + s.size, 0),
  folderArrows,
  fileCircles: fileCircles.map((c) => c.length),
  folderCircles,
  lazyRequires,
};
if (process.argv.includes('--json')) console.log(JSON.stringify({ ...report, fileCircleMembers: fileCircles }, null, 2));
else {
  console.log(`${report.files} files in ${report.folders} folders; ${report.fileImports} value imports between files, ${report.folderArrows} arrows between folders`);
  console.log(`file circles: ${fileCircles.length ? fileCircles.map((c) => `${c.length} files (${c.slice(0, 4).join(', ')}${c.length > 4 ? ', ...' : ''})`).join('; ') : 'none'}`);
  console.log(`folder circles: ${folderCircles.length ? folderCircles.map((c) => c.join(' <-> ')).join('; ') : 'none'}`);
  console.log(`lazy require() of lib files: ${lazyRequires.length ? lazyRequires.join('; ') : 'none'}`);
}
