// Quality check for the sine preset (the engine issue's bar), run as a script, not a timed test:
//   npm run quality                      trains with the defaults into runs/quality-sine, then checks
//   npm run quality -- --model DIR       checks an existing model folder
// Bars: test MSE <= 0.0005; 1,000 free-running samples after a 50-sample prime keep the dominant
// frequency within 1 % of 0.01 cycles/sample and the RMS within 5 % of 0.707.
import { parseArgs } from 'node:util';
import { generateFromFolder, train, evaluateFolder } from '../src/main/engine/engine';
import { dominantFrequency, rms } from '../src/shared/dsp/spectrum';
import { regressionMetrics } from '../src/shared/contract';

const { values } = parseArgs({ options: { model: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' }, epochs: { type: 'string' }, seed: { type: 'string' } } });
let dir = values.model;
let seconds: number | null = null;
if (!dir) {
  dir = values.out ?? 'runs/quality-sine';
  const r = await train({
    source: { kind: 'preset', name: 'sine' },
    out: dir,
    overwrite: true, // this script's own output folder, retrained on each run
    backend: values.backend ?? null,
    config: { ...(values.epochs ? { epochs: Number(values.epochs) } : {}), ...(values.seed ? { seed: Number(values.seed) } : {}) },
    onEvent: (e) => {
      if (e.type === 'epoch') process.stderr.write(`epoch ${e.epoch}/${e.epochs}: train ${e.trainLoss.toPrecision(4)} dev ${e.devLoss.toPrecision(4)} ${Math.round(e.seqPerSecond)} seq/s\n`);
    },
  });
  seconds = r.seconds;
}
const { metrics: any, backend } = await evaluateFolder(dir, values.backend ?? null);
const metrics = regressionMetrics(any);
if (!metrics) throw new Error('bench/quality.ts measures a regression model');
const g = await generateFromFolder({ dir, prime: 50, length: 1000 });
const f = dominantFrequency(g.samples);
const a = rms(g.samples);
const result = {
  model: dir,
  backend,
  train_seconds: seconds,
  test_mse: metrics.test_mse,
  noise_floor: metrics.noise_floor,
  persistence_mse: metrics.persistence_mse,
  ar_mse: metrics.ar_mse,
  free_run_frequency: f,
  frequency_error_pct: (Math.abs(f - 0.01) / 0.01) * 100,
  free_run_rms: a,
  rms_error_pct: (Math.abs(a - Math.SQRT1_2) / Math.SQRT1_2) * 100,
};
const pass = result.test_mse <= 0.0005 && result.frequency_error_pct <= 1 && result.rms_error_pct <= 5;
console.log(JSON.stringify({ ...result, pass }));
process.exit(pass ? 0 : 1);
