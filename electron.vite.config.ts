// electron-vite: the desktop app's bundles. out/main/index.js is the Electron main process;
// out/main/engine.js is the engine process it forks, with lstm.wasm and its worker threads beside
// it in out/main/native/; out/main/cli.js is the command line for where there are no sources (its
// `serve` forks the same engine bundle); out/preload/index.cjs is the sandboxed preload;
// out/renderer is the UI (its settings are shared with browser mode).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { rendererConfig } from './vite.renderer.config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const NATIVE_DIR = src('./src/main/engine/native');

/**
 * The engine's fused kernels load `new URL('./native/…', import.meta.url)`: lstm.wasm, and
 * lstm-worker.js (which imports lstm-shard.js) as a worker thread. They are copied to
 * out/main/native/ next to the bundles, and in an installed app they are unpacked from the asar
 * (package.json, build.asarUnpack) because a worker thread cannot start from inside an archive.
 * So the URLs are pointed at app.asar.unpacked when the bundle runs from app.asar.
 */
function engineNativeFiles(): Plugin {
  const pattern = /new URL\((['"])\.\/native\/([\w.-]+)\1,\s*import\.meta\.url\)/g;
  return {
    name: 'sequence-lab:engine-native-files',
    transform(code, id) {
      if (!id.startsWith(src('./src/main/engine/')) || !pattern.test(code)) return null;
      pattern.lastIndex = 0;
      return { code: code.replace(pattern, (_m, q: string, file: string) => `new URL(${q}./native/${file}${q}, import.meta.url.replace('/app.asar/', '/app.asar.unpacked/'))`), map: null };
    },
    generateBundle() {
      for (const file of readdirSync(NATIVE_DIR).filter((f) => /\.(wasm|js)$/.test(f))) {
        this.emitFile({ type: 'asset', fileName: `native/${file}`, source: readFileSync(`${NATIVE_DIR}/${file}`) });
      }
      // The unpacked folder has no package.json above it to say that these .js files are ES modules.
      this.emitFile({ type: 'asset', fileName: 'native/package.json', source: '{ "type": "module" }\n' });
    },
  };
}

/** A sandboxed preload may require only these; anything else and window.lab would never appear. */
const SANDBOX_MODULES = new Set(['electron', 'events', 'timers', 'url']);

function sandboxedPreload(): Plugin {
  return {
    name: 'sequence-lab:sandboxed-preload',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const bad = [...chunk.code.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)].map((m) => m[2]).filter((m) => !SANDBOX_MODULES.has(m));
        if (bad.length) this.error(`The preload ${chunk.fileName} requires ${bad.join(', ')}; a sandboxed preload may require only ${[...SANDBOX_MODULES].join(', ')}`);
      }
    },
  };
}

export default defineConfig({
  main: {
    plugins: [engineNativeFiles()],
    // engine-supervisor.ts: a bundled host forks the bundled engine, never the sources through tsx.
    define: { __SEQUENCE_LAB_BUNDLED__: 'true' },
    build: {
      rollupOptions: {
        input: { index: src('./src/main/index.ts'), engine: src('./src/main/engine/process.ts'), cli: src('./src/main/cli.ts') },
        // Shared chunks stay beside the entries, so './native/…' means the same from every file.
        output: { chunkFileNames: 'chunk-[name]-[hash].js' },
      },
    },
  },
  preload: {
    plugins: [sandboxedPreload()],
    build: {
      // Bundle everything: the sandbox's require cannot load node_modules.
      externalizeDeps: false,
      rollupOptions: { input: { index: src('./src/preload/index.ts') }, output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    ...rendererConfig,
    build: { ...rendererConfig.build, rollupOptions: { input: src('./src/renderer/index.html') } },
  },
});
