// Generation speed of the spectral family, as a script (not a timed test):
//   node --import tsx bench/spectral-speed.ts [--model DIR] [--runs 12] [--seconds 2]
// Primes a stepper on half a second of a 150 Hz tone with harmonics and generates `runs` × `seconds`
// of 16 kHz audio on one stream after 2 s of warm-up, printing µs per sample and the real-time factor
// (min, median, max over the runs). Without --model it builds the default spec with its initial
// random weights; with a trained model's folder (bench/audio-quality.ts --family spectral writes them)
// the drawn spectra, and so the phase vocoder's peaks, are a real recording's. One thread: one core.
import { parseArgs } from 'node:util';
import { initBackend } from '../src/main/engine/backend';
import { spectralFamily } from '../src/main/engine/families/spectral';
import { loadModelFolder } from '../src/main/engine/store';
import { spectralSpecSchema, type SpectralSpec } from '../src/shared/contract';

const { values } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string', default: '12' }, seconds: { type: 'string', default: '2' } } });
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`Expected --runs to be a positive integer, but got ${values.runs}`);
if (!(SECONDS > 0)) throw new Error(`Expected --seconds to be a positive number, but got ${values.seconds}`);
const RATE = 16_000;

await initBackend('cpu');
let stepperOf;
if (values.model) {
  const folder = await loadModelFolder(values.model);
  if (folder.spec.model.family !== 'spectral') throw new Error(`${values.model} holds a ${folder.spec.model.family} model, not a spectral one`);
  const spec = folder.spec.model as SpectralSpec;
  stepperOf = (prime: Float32Array) => spectralFamily.stepper(folder.model, spec, folder.spec.normalisation, { prime: [prime] });
} else {
  const spec = spectralSpecSchema.parse({ family: 'spectral' });
  const model = spectralFamily.build(spec, 1);
  stepperOf = (prime: Float32Array) => spectralFamily.stepper(model, spec, { offset: 0, scale: 1 }, { prime: [prime] });
}
const prime = new Float32Array(RATE / 2).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 150 * i) / RATE) + 0.1 * Math.sin((2 * Math.PI * 450 * i) / RATE));
const stepper = await stepperOf(prime);
const n = Math.round(SECONDS * RATE);
stepper.generate(2 * RATE);
const us: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  stepper.generate(n);
  us.push(((performance.now() - t0) * 1000) / n);
}
us.sort((a, b) => a - b);
const x = (v: number) => `${v.toFixed(3)} µs/sample (${Math.round(1e6 / v / RATE)} x real time)`;
process.stdout.write(`spectral generation, one stream at ${RATE} Hz, ${RUNS} runs of ${SECONDS} s: min ${x(us[0])}, median ${x(us[Math.floor(RUNS / 2)])}, max ${x(us[RUNS - 1])}\n`);
