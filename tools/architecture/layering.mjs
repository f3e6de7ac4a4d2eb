// The layering of src/, read from the folder table in docs/architecture.md, as dependency-cruiser
// rules: an allow-list (a module may import its own folder, the folders its row names, Node's
// built-ins and packages, nothing else), no import cycles (type-only imports included), and
// onnxruntime only from src/runtime/. The table is the one source: change it with the code.

import { readFileSync } from 'node:fs';

/**
 * Rows of the folder table whose first cell names a src/ folder or file, e.g.
 * | `src/scheduler/` | owns ... | config, core, runtime (types) |
 * An imports cell lists folders relative to src/ ("protocols/common", "server"), each optionally
 * "(types)" for type-only imports; "—" is none; "everything" is every other folder.
 */
export function parseLayerTable(markdown) {
  const layers = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const m = /^`src\/([^`]+)`$/.exec(cells[1] ?? '');
    if (m === null || cells.length < 5) continue;
    const name = m[1].replace(/\/$/, '').replace(/\.ts$/, '');
    const isFile = !m[1].endsWith('/');
    const text = cells[3] ?? '';
    const imports = [];
    let everything = false;
    for (const part of text.split(',').map((p) => p.trim())) {
      if (part === '' || part === '—') continue;
      if (part === 'everything') {
        everything = true;
        continue;
      }
      const t = /^([a-z0-9/-]+)(?: \((types)\))?$/.exec(part);
      if (t === null) throw new Error(`docs/architecture.md: cannot read import '${part}' of src/${m[1]}`);
      imports.push({ name: t[1], typesOnly: t[2] === 'types' });
    }
    layers.push({ name, isFile, imports, everything });
  }
  return layers;
}

export function readLayerTable(file = new URL('../../docs/architecture.md', import.meta.url)) {
  return parseLayerTable(readFileSync(file, 'utf8'));
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The path pattern of a layer: a folder's files (not those of a nested layer), or one file. */
function pathOf(layer, all, root) {
  if (layer.isFile) return `^${escape(root)}/${escape(layer.name)}\\.ts$`;
  const nested = all.filter((l) => l !== layer && l.name.startsWith(`${layer.name}/`));
  const base = `^${escape(root)}/${escape(layer.name)}/`;
  return nested.length === 0
    ? base
    : `${base}(?!(${nested.map((n) => escape(n.name.slice(layer.name.length + 1))).join('|')})/)`;
}

/** dependency-cruiser's `allowed` and `forbidden` rules for the layers, rooted at `root` (src). */
export function layeringRules(layers, root = 'src') {
  const allowed = [
    {
      comment: 'Node built-ins and installed packages',
      from: {},
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
  ];
  for (const layer of layers) {
    const from = { path: pathOf(layer, layers, root) };
    allowed.push({ comment: `${layer.name}: its own modules`, from, to: { path: pathOf(layer, layers, root) } });
    const targets = layer.everything
      ? layers.filter((l) => l !== layer).map((l) => ({ name: l.name, typesOnly: false }))
      : layer.imports;
    for (const t of targets) {
      const target = layers.find((l) => l.name === t.name);
      if (target === undefined)
        throw new Error(`docs/architecture.md: src/${layer.name} imports unknown folder '${t.name}'`);
      allowed.push({
        comment: `${layer.name} → ${t.name}${t.typesOnly ? ' (types)' : ''}`,
        from,
        to: { path: pathOf(target, layers, root), ...(t.typesOnly ? { dependencyTypes: ['type-only'] } : {}) },
      });
    }
  }
  const forbidden = [
    {
      name: 'no-circular',
      comment: 'an import cycle (type-only imports count): modules of one cycle cannot be understood alone',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'onnxruntime-only-in-runtime',
      comment: 'only src/runtime/ may import onnxruntime-node',
      severity: 'error',
      from: { pathNot: `^${escape(root)}/runtime/` },
      to: { path: 'onnxruntime' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to no file',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ];
  return { allowed, allowedSeverity: 'error', forbidden };
}
