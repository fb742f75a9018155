import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeWav, encodeWav } from '../../src/shared/signals/wav';

const BIN = path.resolve(__dirname, '../../bin/sequence-lab');
let tmp: string;

function cli(...args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, SEQUENCE_LAB_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const TINY = ['--samples', '1500', '--epochs', '1', '--window', '20', '--batch', '32', '--units', '8', '--max-train-windows', '128'];

describe('command line', () => {
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seqlab-cli-'));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('trains, evaluates and generates with JSON summaries, WAV and SVG outputs', async () => {
    const model = path.join(tmp, 'm');
    const t = cli('train', '--preset', 'sine', ...TINY, '--out', model, '--json');
    expect(t.stderr).toMatch(/backend: wasm/);
    expect(t.code).toBe(0);
    const tj = lastJson(t.stdout);
    for (const k of ['test_mse', 'dev_mse', 'noise_floor', 'persistence_mse', 'ar_mse', 'backend', 'seconds']) expect(tj).toHaveProperty(k);
    expect(tj.noise_floor).toBeCloseTo(0.0004, 10);
    expect(tj.backend).toBe('wasm');

    const e = cli('eval', '--model', model, '--json');
    expect(e.code).toBe(0);
    expect(lastJson(e.stdout).test_mse).toBe(tj.test_mse);

    const wav = path.join(tmp, 'g.wav');
    const svg = path.join(tmp, 'g.svg');
    const st = path.join(tmp, 'state.f32');
    const g = cli('generate', '--model', model, '--prime', '20', '--length', '300', '--out', wav, '--plot', svg, '--state-out', st, '--json');
    expect(g.code).toBe(0);
    const gj = lastJson(g.stdout);
    expect(gj.samples).toBe(300);
    // Judged beside the trivial continuations (too short for a spectrum of the truth: against the prime).
    expect(gj.judged_against).toBe('prime');
    const judged = gj.continuation_metrics as { model: { rmsRatio: number }; baselines: Record<string, unknown> };
    expect(judged.model.rmsRatio).toBeGreaterThan(0);
    expect(Object.keys(judged.baselines).sort()).toEqual(['lastPeriodLooped', 'linearPredictor', 'silence', 'spectralFreeze']);
    const audio = decodeWav(await fs.readFile(wav));
    expect(audio.sampleRate).toBe(44_100);
    expect(audio.samples.length).toBe(300);
    expect(await fs.readFile(svg, 'utf8')).toMatch(/<svg[^]*prime[^]*generated[^]*truth/);

    // Continuing from the saved state gives the samples of one longer run.
    const wav2 = path.join(tmp, 'g2.wav');
    expect(cli('generate', '--model', model, '--state-in', st, '--length', '100', '--out', wav2).code).toBe(0);
    const wavAll = path.join(tmp, 'all.wav');
    expect(cli('generate', '--model', model, '--prime', '20', '--length', '400', '--out', wavAll).code).toBe(0);
    const all = decodeWav(await fs.readFile(wavAll)).samples;
    const joined = new Float32Array([...audio.samples, ...decodeWav(await fs.readFile(wav2)).samples]);
    expect(joined).toEqual(all);
  });

  it('Ctrl-C cancels at a batch boundary, exits 130 and keeps the last checkpoint', async () => {
    const out = path.join(tmp, 'interrupted');
    const args = ['--samples', '1500', '--window', '20', '--batch', '32', '--units', '8', '--max-train-windows', '128', '--epochs', '1000'];
    const child = spawn(BIN, ['train', '--preset', 'sine', ...args, '--out', out], {
      env: { ...process.env, SEQUENCE_LAB_BACKEND: 'wasm' },
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/epoch 2\/1000/.test(stderr)) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/Cancelling at the next batch boundary/);
    expect(stderr).toMatch(/Cancelled; the checkpoint of epoch \d+ is in .* \(resume with --resume\)/);
    const spec = JSON.parse(await fs.readFile(path.join(out, 'spec.json'), 'utf8'));
    expect(spec.status).toBe('checkpoint');
    expect(spec.epochsDone).toBeGreaterThanOrEqual(2);
    expect((await fs.readdir(tmp)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it.each([
    [['frobnicate'], /Unknown command "frobnicate"/],
    [['train', '--preset', 'sine'], /--out is required/],
    [['train', '--preset', 'sine', '--wav', 'x.wav', '--out', 'OUT'], /exactly one of --preset NAME, --wav FILE or --recording NAME/],
    [['train', '--preset', 'cosine', '--out', 'OUT'], /Unknown preset "cosine"/],
    [['train', '--preset', 'sine', '--epochs', 'many', '--out', 'OUT'], /--epochs expects an integer, got "many"/],
    [['train', '--preset', 'sine', '--epochs', '-3', '--out', 'OUT'], /epochs/],
    [['train', '--preset', 'sine', '--lr', '5', '--out', 'OUT'], /learningRate/],
    [['train', '--preset', 'sine', '--units', '16,x', '--out', 'OUT'], /--units expects integers/],
    [['train', '--preset', 'sine', '--cell', 'rnn', '--out', 'OUT'], /type/],
    [['train', '--preset', 'sine', '--bogus', '--out', 'OUT'], /Unknown option '--bogus'/],
    [['train', '--preset', 'sine', '--samples', '40', '--out', 'OUT'], /too few for windows of 100/],
    [['train', '--wav', 'MISSING.wav', '--out', 'OUT'], /MISSING.wav does not exist/],
    [['train', '--preset', 'sine', '--backend', 'quantum', '--out', 'OUT'], /Unknown backend "quantum"/],
    [['eval', '--model', 'NOPE'], /Model folder NOPE does not exist/],
    [['generate', '--model', 'NOPE', '--length', '10', '--out', 'OUT.wav'], /does not exist/],
    [['generate', '--model', 'NOPE', '--length', '0', '--out', 'OUT.wav'], /--length expects an integer from 1 to 10000000, got 0/],
  ])('bad input %j: one line naming the problem, exit code 2, nothing written', async (args, message) => {
    const cwd = await fs.mkdtemp(path.join(tmp, 'bad-'));
    const r = spawnSync(BIN, args, { cwd, encoding: 'utf8', env: { ...process.env, SEQUENCE_LAB_BACKEND: 'wasm' } });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('backend:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sequence-lab: error: /);
    expect(lines[0]).toMatch(message);
    expect(await fs.readdir(cwd)).toEqual([]);
  });

  it('keeps a recordings library: import, list, rename, delete; trains on a region of one and primes on another', async () => {
    const models = path.join(tmp, 'lib', 'models');
    const x = Float32Array.from({ length: 24_000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 220 * i) / 8000));
    const file = path.join(tmp, 'hum.wav');
    await fs.writeFile(file, encodeWav(x, 8000));
    await fs.writeFile(path.join(tmp, 'junk.mp3'), 'not audio at all');
    const imp = cli('recordings', 'import', file, '--models', models, '--json');
    expect(imp.code).toBe(0);
    expect(lastJson(imp.stdout)).toMatchObject({ imported: [{ name: 'hum', samples: 24_000, sampleRate: 8000 }] });
    expect(existsSync(path.join(tmp, 'lib', 'recordings', 'hum.wav'))).toBe(true);
    const junk = cli('recordings', 'import', path.join(tmp, 'junk.mp3'), '--models', models);
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/junk\.mp3 is not audio the lab can read/);
    expect(cli('recordings', 'rename', 'hum', 'hum take', '--models', models).code).toBe(0);
    expect(lastJson(cli('recordings', 'list', '--models', models, '--json').stdout)).toMatchObject({ recordings: [{ name: 'hum take', seconds: 3 }] });

    const model = path.join(models, 'r');
    const t = cli('train', '--recording', 'hum take', '--region', '0-2', '--prime-region', '2-2.5', '--family', 'regression', '--epochs', '1', '--window', '20', '--units', '8', '--max-train-windows', '64', '--out', model, '--models', models);
    expect(t.stderr + t.stdout).not.toMatch(/error/);
    expect(t.code).toBe(0);
    expect(JSON.parse(await fs.readFile(path.join(model, 'spec.json'), 'utf8')).source).toMatchObject({ recording: 'hum take', region: { start: 0, end: 2 }, primeRegion: { start: 2, end: 2.5 } });
    const g = cli('generate', '--model', model, '--length', '100', '--out', path.join(tmp, 'r.wav'), '--json');
    expect(g.code).toBe(0);
    const bad = cli('generate', '--model', model, '--length', '100', '--prime-region', '2.5-1', '--out', path.join(tmp, 'r2.wav'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prime-region must end after it starts \(got "2\.5-1"\)/);
    expect(existsSync(path.join(tmp, 'r2.wav'))).toBe(false);
    expect(cli('recordings', 'delete', 'hum take', '--models', models).code).toBe(0);
    const gone = cli('recordings', 'delete', 'hum take', '--models', models);
    expect(gone.stderr).toMatch(/No recording named "hum take"/);
    // The model trained on its own copy: it still generates with the recording gone.
    expect(cli('generate', '--model', model, '--length', '100', '--out', path.join(tmp, 'r3.wav')).code).toBe(0);
  });

  it('a corrupt WAV and non-finite samples are refused by name', async () => {
    const bad = path.join(tmp, 'corrupt.wav');
    await fs.writeFile(bad, Buffer.from('RIFF....WAVEjunkjunkjunk'));
    const r = cli('train', '--wav', bad, '--out', path.join(tmp, 'never'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/corrupt.wav is not a readable WAV file/);
    expect(existsSync(path.join(tmp, 'never'))).toBe(false);

    // A float WAV holding NaN.
    const nan = Buffer.from(await fs.readFile(path.join(__dirname, '../fixtures/nan.wav')));
    const nanPath = path.join(tmp, 'nan.wav');
    await fs.writeFile(nanPath, nan);
    const n = cli('train', '--wav', nanPath, '--out', path.join(tmp, 'never'));
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/nan.wav has a non-finite sample at frame 3/);
  });

  it('a bad packed state file is refused and no WAV is written', async () => {
    const model = path.join(tmp, 'm');
    const st = path.join(tmp, 'junk.f32');
    await fs.writeFile(st, Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 7]).buffer));
    const out = path.join(tmp, 'never.wav');
    const r = cli('generate', '--model', model, '--state-in', st, '--length', '10', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad magic number/);
    expect(existsSync(out)).toBe(false);
  });
});
