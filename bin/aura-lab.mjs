#!/usr/bin/env node
// The `aura-lab` command. From a source checkout it runs the TypeScript CLI through tsx; the
// engine host and worker threads it starts are given the same loader.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`aura-lab: Node.js >= 20.19 is required; this is ${process.version}\n`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
