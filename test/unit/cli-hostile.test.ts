// The command line against careless use: --out pointing at the user's own files, lengths past the
// limit, a corrupt optimizer state, an unwritable --state-out, a kill between a checkpoint's renames.
// Every refusal is one line, exit code 2, and leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '../../bin/sequence-lab');
const TINY = ['--preset', 'sine', '--samples', '1500', '--window', '20', '--batch', '32', '--units', '8', '--max-train-windows', '128'];
let tmp: string;
let model: string;

function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', cwd: opts.cwd, env: { ...process.env, SEQUENCE_LAB_BACKEND: 'wasm', ...opts.env } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Refused the way the README promises: exit 2 and one `sequence-lab: error:` line. */
function expectRefused(r: ReturnType<typeof cli>, message: RegExp): void {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('backend:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^sequence-lab: error: /);
  expect(lines[0]).toMatch(message);
}

describe('command line: nothing it did not write is deleted, nothing half-written is left', () => {
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-cli-hostile-'));
    model = path.join(tmp, 'model');
    const r = cli(['train', ...TINY, '--epochs', '1', '--out', model]);
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('train --out on a folder of the user\'s files (or ".") refuses and keeps every file', async () => {
    const mine = path.join(tmp, 'thesis');
    await fs.mkdir(mine);
    await fs.writeFile(path.join(mine, 'chapter1.tex'), 'precious');
    expectRefused(cli(['train', ...TINY, '--epochs', '1', '--out', mine]), /thesis is not a Sequence Lab model folder .* refusing to replace it/);
    expectRefused(cli(['train', ...TINY, '--epochs', '1', '--out', '.'], { cwd: mine }), /\. is not a Sequence Lab model folder/);
    expect(await fs.readdir(mine)).toEqual(['chapter1.tex']);
    expect(await fs.readFile(path.join(mine, 'chapter1.tex'), 'utf8')).toBe('precious');
    expect((await fs.readdir(tmp)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('train --out on an existing model needs --overwrite', async () => {
    const before = await fs.readFile(path.join(model, 'spec.json'), 'utf8');
    expectRefused(cli(['train', ...TINY, '--epochs', '1', '--out', model]), /already holds a model; pass --overwrite to replace it, or --resume/);
    expect(await fs.readFile(path.join(model, 'spec.json'), 'utf8')).toBe(before);
    const copy = path.join(tmp, 'copy');
    await fs.cp(model, copy, { recursive: true });
    expect(cli(['train', ...TINY, '--epochs', '1', '--seed', '2', '--out', copy, '--overwrite']).code).toBe(0);
    expect(JSON.parse(await fs.readFile(path.join(copy, 'spec.json'), 'utf8')).train.seed).toBe(2);
  });

  it('an unknown preset that is an Object.prototype name is refused', () => {
    expectRefused(cli(['train', '--preset', 'constructor', '--out', path.join(tmp, 'never')]), /Unknown preset "constructor"/);
    expect(existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it("one family's options given to another are refused by name, not dropped", () => {
    expectRefused(cli(['train', ...TINY, '--family', 'spectral', '--levels', '16', '--out', path.join(tmp, 'x')]), /--levels is an option of the categorical family; this run trains a spectral model/);
    expectRefused(cli(['train', ...TINY, '--frame-size', '256', '--out', path.join(tmp, 'x')]), /--frame-size is an option of the spectral family; this run trains a regression model/);
    expectRefused(cli(['train', ...TINY, '--input-noise', '0.1', '--out', path.join(tmp, 'x')]), /--input-noise is an option of the categorical and spectral families/);
    expect(existsSync(path.join(tmp, 'x'))).toBe(false);
  });

  it('generate --length past the limit is refused, not an internal error', () => {
    const out = path.join(tmp, 'huge.wav');
    expectRefused(cli(['generate', '--model', model, '--length', '3000000000', '--out', out]), /--length expects an integer from 1 to 10000000, got 3000000000/);
    expect(existsSync(out)).toBe(false);
  });

  it('generate with an unwritable --state-out writes no WAV either', () => {
    const out = path.join(tmp, 'cont.wav');
    expectRefused(cli(['generate', '--model', model, '--length', '50', '--out', out, '--state-out', path.join(tmp, 'no-such-dir', 's.f32')]), /Could not write .*s\.f32: its folder .*no-such-dir does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  it('--resume with a corrupt optimizer.bin names the file', async () => {
    const bad = path.join(tmp, 'bad-opt');
    await fs.cp(model, bad, { recursive: true });
    const bin = path.join(bad, 'optimizer.bin');
    await fs.writeFile(bin, (await fs.readFile(bin)).subarray(0, 10));
    expectRefused(cli(['train', '--resume', '--out', bad, '--epochs', '2']), /optimizer\.bin holds 10 bytes, but optimizer\.json describes \d+/);
  });

  it('a kill between the renames of a checkpoint loses no model: the next command puts it back', async () => {
    const m = path.join(tmp, 'crashy');
    await fs.cp(model, m, { recursive: true });
    const r = cli(['train', '--resume', '--out', m, '--epochs', '2'], { env: { SEQUENCE_LAB_TEST_CRASH_BETWEEN_RENAMES: '1' } });
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(m)).toBe(false); // what the crash left: only .crashy.old-* and .crashy.tmp-*
    const e = cli(['eval', '--model', m, '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout.trim().split('\n').pop()!).epochs).toBe(1);
    expect((await fs.readdir(tmp)).filter((n) => n.startsWith('.crashy'))).toEqual([]);
  });
});

describe('serve keeps its address', () => {
  /** Starts `serve`, returns the URL it prints, and stops it. */
  async function serveOnce(models: string, ...extra: string[]): Promise<string> {
    const { spawn } = await import('node:child_process');
    const child = spawn(BIN, ['serve', '--models', models, ...extra], {
      env: { ...process.env, SEQUENCE_LAB_BACKEND: 'wasm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      return await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /serving (http:\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }

  it('a restarted server answers at the same URL; --new-token makes a new token', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-serve-id-'));
    try {
      const models = path.join(root, 'models');
      const first = await serveOnce(models);
      const second = await serveOnce(models);
      expect(second).toBe(first);
      expect((await fs.stat(path.join(root, 'serve.json'))).mode & 0o777).toBe(0o600);
      const third = await serveOnce(models, '--new-token');
      expect(new URL(third).port).toBe(new URL(first).port);
      expect(new URL(third).searchParams.get('token')).not.toBe(new URL(first).searchParams.get('token'));
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
