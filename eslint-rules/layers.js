/**
 * The allowed-imports matrix between AURA Lab's layers (see ARCHITECTURE.md). A wrong import
 * fails lint, and so CI. Each layer lists the layers it may import and the packages it may use.
 */
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** layer -> { layers: allowed source layers, typeOnly: layers allowed for `import type` only, packages: predicate } */
export const matrix = {
  core: { layers: [], typeOnly: [], packages: () => false, why: 'the core is pure: it imports only itself' },
  shared: { layers: [], typeOnly: [], packages: (name) => name === 'zod', why: 'shared holds the API contract only (and zod to validate it)' },
  node: { layers: ['core'], typeOnly: ['shared'], packages: (name) => !isUiPackage(name) && name !== 'electron', why: 'node adapters build on the core' },
  workers: { layers: ['core', 'node'], typeOnly: [], packages: (name) => !isUiPackage(name) && name !== 'electron', why: 'workers are thin: task -> core -> result' },
  host: { layers: ['core', 'node', 'shared'], typeOnly: [], packages: (name) => !isUiPackage(name) && name !== 'electron', why: 'the engine host composes core, node and the contract' },
  cli: { layers: ['core', 'node', 'shared', 'host'], typeOnly: [], packages: (name) => !isUiPackage(name) && name !== 'electron', why: 'the CLI is a composition root: it starts the engine host through its supervisor' },
  main: { layers: ['shared', 'host', 'core'], typeOnly: [], packages: (name) => !isUiPackage(name), why: 'the Electron shell starts the engine supervisor and relays the contract' },
  preload: { layers: [], typeOnly: ['shared'], packages: (name) => name === 'electron', why: 'the preload exposes a narrow bridge and nothing else' },
  renderer: {
    layers: ['shared', 'renderer'],
    typeOnly: ['core'],
    packages: (name) => !nodeBuiltins.has(name) && name !== 'electron' && !isServerPackage(name),
    why: 'the renderer talks to the engine only through the contract; core as types only',
  },
};

function isUiPackage(name) {
  return ['react', 'react-dom', 'zustand', 'd3'].some((ui) => name === ui || name.startsWith(`${ui}/`) || name.startsWith('d3-'));
}

function isServerPackage(name) {
  return ['better-sqlite3', 'piscina', 'ws', 'yaml', 'tsx'].includes(name);
}

function packageName(source) {
  if (source.startsWith('node:')) return source;
  const parts = source.split('/');
  return source.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? source);
}

export function layerOf(file, root) {
  const rel = relative(root, file).split(sep);
  if (rel[0] !== 'src' || rel.length < 3) return undefined;
  return rel[1] in matrix ? rel[1] : undefined;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the allowed imports between layers' },
    schema: [],
    messages: {
      layer: '{{from}} may not import {{to}} ({{source}}): {{why}}',
      typeOnly: '{{from}} may import {{to}} for types only ({{source}}): use `import type`',
      package: '{{from}} may not import the package {{source}}: {{why}}',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = context.filename;
    const from = layerOf(file, root);
    if (from === undefined) return {};
    const allowed = matrix[from];

    function check(node, source, typeOnly) {
      if (typeof source !== 'string') return;
      if (source.startsWith('.')) {
        const target = resolve(dirname(file), source);
        const to = layerOf(target, root);
        if (to === undefined) {
          context.report({ node, messageId: 'layer', data: { from, to: 'files outside src/<layer>', source, why: allowed.why } });
          return;
        }
        if (to === from || allowed.layers.includes(to)) return;
        if (allowed.typeOnly.includes(to)) {
          if (!typeOnly) context.report({ node, messageId: 'typeOnly', data: { from, to, source } });
          return;
        }
        context.report({ node, messageId: 'layer', data: { from, to, source, why: allowed.why } });
        return;
      }
      const name = packageName(source);
      if (!allowed.packages(name) && !(typeOnly && from !== 'core')) {
        context.report({ node, messageId: 'package', data: { from, source, why: allowed.why } });
      }
    }

    return {
      ImportDeclaration(node) {
        const typeOnly = node.importKind === 'type' || (node.specifiers.length > 0 && node.specifiers.every((specifier) => specifier.importKind === 'type'));
        check(node, node.source.value, typeOnly);
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === 'type');
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node, node.source.value, false);
      },
      TSImportType(node) {
        const value = node.argument?.literal?.value ?? node.argument?.value;
        if (typeof value === 'string') check(node, value, true);
      },
    };
  },
};

export default { rules: { layers: rule } };
