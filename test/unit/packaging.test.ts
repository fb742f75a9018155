// What an installed app would hold, read from package.json's electron-builder configuration (with
// electron-builder's own file matcher) and the built out/: the bundles, the wasm files and the
// native TensorFlow binaries outside the asar, no sources, tests or dev dependencies; and the
// bundles started on plain Node, as an installed app starts them: no tsx, no src/.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineSupervisor, forkEngineFrom } from '../../src/main/host/engine-supervisor';
import { decodeFrame, encodeFrame } from '../../src/shared/wire';
import { ensureDesktopBuilt, OUT, ROOT } from '../fixtures/fake-electron/desktop-build';
// @ts-expect-error plain JavaScript helper shared with scripts/start.mjs
import { electronBinary } from '../../scripts/electron-runtime.mjs';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const require = createRequire(import.meta.url);
type Filter = (file: string, stat: { isDirectory(): boolean }) => boolean;
// electron-builder's matcher (internal, but the version is pinned): what we test is what it does.
const { FileMatcher } = require('app-builder-lib/out/fileMatcher.js') as {
  FileMatcher: new (from: string, to: string, expand: (s: string) => string, patterns: string[]) => { createFilter(): Filter };
};
const file = { isDirectory: () => false };
const matcher = (patterns: string[]) => {
  const f = new FileMatcher(ROOT.replace(/\/$/, ''), '/app', (s) => s, patterns).createFilter();
  return (rel: string) => f(path.join(ROOT, rel), file);
};
/** The app's own files: `files` plus package.json (electron-builder adds it); node_modules are copied apart. */
const inApp = matcher([...pkg.build.files, 'package.json', '!**/node_modules']);
const unpacked = matcher(pkg.build.asarUnpack);

function walk(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
}

let tracked: string[];
let built: string[];
beforeAll(async () => {
  await ensureDesktopBuilt();
  tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  built = walk('out');
});

describe('the installed app (electron-builder configuration)', () => {
  it('contains the bundles, the engine natives and the UI', () => {
    for (const f of ['out/main/index.js', 'out/main/engine.js', 'out/main/cli.js', 'out/main/native/lstm.wasm', 'out/main/native/lstm-worker.js', 'out/main/native/lstm-shard.js', 'out/main/native/package.json', 'out/preload/index.cjs', 'out/renderer/index.html', 'package.json']) {
      expect(inApp(f), f).toBe(true);
    }
    expect(built.filter((f) => f.startsWith('out/renderer/')).every(inApp)).toBe(true);
    expect(pkg.main).toBe('out/main/index.js');
  });

  it('contains no sources, tests, benchmarks, scripts or source maps', () => {
    const shipped = [...tracked, ...built].filter(inApp);
    expect(shipped.filter((f) => !f.startsWith('out/') && f !== 'package.json')).toEqual([]);
    expect(shipped.filter((f) => /\.(ts|tsx|map)$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('unpacks from the asar what cannot run inside it: worker threads, wasm, native TensorFlow', () => {
    for (const f of walk('out/main/native')) expect(unpacked(f), f).toBe(true);
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
      expect(unpacked(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`), f).toBe(true);
      expect(existsSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist', f)), `${f} is where tfjs looks for it`).toBe(true);
    }
    for (const f of [
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
      'node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow.so.2',
      'node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node',
      'node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow_framework.so.2',
    ]) {
      expect(unpacked(f), f).toBe(true);
    }
    expect(unpacked('out/main/engine.js')).toBe(false);
    expect(unpacked('out/renderer/index.html')).toBe(false);
  });

  it('ships production dependencies only: no TypeScript loader, bundler or Electron tooling', () => {
    const prod = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n');
    const names = new Set(prod.filter((p) => p.includes('node_modules')).map((p) => p.slice(p.lastIndexOf('node_modules/') + 13)));
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vite', 'vitest', 'electron', 'electron-builder', 'electron-vite', 'fast-check', 'playwright-core', 'happy-dom']) {
      expect(names.has(dev), `${dev} would be shipped`).toBe(false);
      expect(pkg.dependencies[dev], `${dev} in dependencies`).toBeUndefined();
    }
    expect(names.has('@tensorflow/tfjs')).toBe(true);
  });

  it('packages the Electron version that is installed, which accepts this Node for npm install', () => {
    expect(pkg.build.electronVersion).toBe(pkg.devDependencies.electron);
    expect(require('electron/package.json').version).toBe(pkg.devDependencies.electron);
    expect(pkg.build.npmRebuild).toBe(false); // tfjs-node's binding is N-API: no rebuild for Electron's ABI
  });

  it('bundles import only Node built-ins, electron and production dependencies, and never name tsx or src/', () => {
    const allowed = new Set([...builtinModules, 'electron', ...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const bundles = walk('out/main').filter((f) => f.endsWith('.js') && !f.startsWith('out/main/native/'));
    for (const f of bundles) {
      const code = readFileSync(path.join(ROOT, f), 'utf8');
      const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)(['"])([^'"]+)\1/gm)].map((m) => m[2]);
      const external = specifiers.filter((s) => !s.startsWith('.'));
      const packages = external.map((s) => s.replace(/^node:/, '').split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/'));
      expect(packages.filter((p) => !allowed.has(p)), f).toEqual([]);
      expect(code, f).not.toMatch(/\btsx\b/);
      expect(code, f).not.toMatch(/src\/main\//);
    }
  });
});

describe('the bundles on plain Node', () => {
  it('the engine bundle starts and answers engine.info', async () => {
    const models = mkdtempSync(path.join(tmpdir(), 'seqlab-engine-bundle-'));
    const supervisor = new EngineSupervisor({ spawn: forkEngineFrom(OUT.engine), modelsDir: models, backend: 'wasm', restartDelayMs: 10 });
    try {
      await supervisor.start();
      const info = await supervisor.call('engine.info', {});
      expect(info).toMatchObject({ protocol: 1, backend: 'wasm', modelsDir: models });
    } finally {
      await supervisor.stop();
      rmSync(models, { recursive: true, force: true });
    }
  });

  describe('`serve` from the bundled command line', () => {
    let server: ReturnType<typeof spawn>;
    let models: string;
    let url: URL;
    beforeAll(async () => {
      models = mkdtempSync(path.join(tmpdir(), 'seqlab-serve-bundle-'));
      server = spawn(process.execPath, [OUT.cli, 'serve', '--port', '0', '--models', models, '--backend', 'wasm'], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'inherit'] });
      url = await new Promise<URL>((resolve, reject) => {
        let out = '';
        server.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /serving (\S+)/.exec(out);
          if (m) resolve(new URL(m[1]));
        });
        server.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
    });
    afterAll(() => {
      server?.kill('SIGTERM');
      if (models) rmSync(models, { recursive: true, force: true });
    });

    it('serves the UI and forks the engine bundle without tsx', async () => {
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="root">/);
      const ws = new WebSocket(`ws://${url.host}/ws?token=${url.searchParams.get('token')}`, { headers: { origin: url.origin } });
      const reply = await new Promise<{ ok: boolean; result: { backend: string } }>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => ws.send(new Uint8Array(encodeFrame({ kind: 'request', id: 1, command: 'engine.info', args: {} }))));
        ws.on('message', (data) => {
          const f = decodeFrame(data as Buffer) as { kind: string; id?: number; ok: boolean; result: { backend: string } };
          if (f.kind === 'response' && f.id === 1) resolve(f);
        });
      });
      ws.close();
      expect(reply).toMatchObject({ ok: true, result: { backend: 'wasm' } });
      if (process.platform === 'linux') {
        // The engine child's command line, read from /proc: the bundle, and nothing about tsx.
        const children = readdirSync('/proc')
          .filter((p) => /^\d+$/.test(p))
          .map((p) => {
            try {
              const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
              return { ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ') };
            } catch {
              return null;
            }
          })
          .filter((c) => c && c.ppid === server.pid);
        expect(children.map((c) => c!.cmd).join('\n')).toContain(OUT.engine);
        expect(children.map((c) => c!.cmd).join('\n')).not.toMatch(/tsx/);
      }
    });
  });
});

describe('npm run dist', () => {
  const runtime = electronBinary({ download: false }) as { path: string | null };
  it.skipIf(runtime.path !== null)('says in one line why it cannot package where the Electron runtime is missing', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/dist.mjs')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SEQUENCE_LAB_NO_ELECTRON: '1' } });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^sequence-lab: error: cannot package the desktop app: the Electron runtime is not downloaded/);
  });
});
