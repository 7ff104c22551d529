import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

/**
 * One build for the desktop app and browser mode:
 * - main: the Electron shell, plus the engine host and the projection worker, which run in
 *   plain Node (the host is a separate process; workers are its threads). They are siblings in
 *   out/main so the runtime can find them.
 * - preload: CommonJS, because sandboxed preload scripts cannot be ES modules.
 * - renderer: the React UI, served by `aura-lab serve` or loaded by the desktop window.
 */
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          host: resolve('src/host/main.ts'),
          'load-writer': resolve('src/host/load-writer.ts'),
          'projection-worker': resolve('src/workers/projection-worker.ts'),
          'chain-worker': resolve('src/workers/chain-worker.ts'),
          'sweep-worker': resolve('src/workers/sweep-worker.ts'),
          cli: resolve('src/cli/main.ts'),
        },
        output: {
          entryFileNames: '[name].js',
          chunkFileNames: 'chunk-[name]-[hash].js',
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rolldownOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    build: {
      outDir: resolve('out/renderer'),
      rolldownOptions: { input: resolve('src/renderer/index.html') },
    },
    plugins: [react()],
  },
});
