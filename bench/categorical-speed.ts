// Sampling speed of the categorical family's default model, as a script (not a timed test):
//   node --import tsx bench/categorical-speed.ts [--runs 5] [--samples 32000] [--head-scale 1] [--temperature 1] [--cut 0.002]
// Builds the default spec (a GRU of 128, 16 inputs per step, a 256-level softmax head) with its
// initial random weights, primes a stepper on a short sine and generates `runs` × `samples` samples on
// one stream, printing µs per sample (median and min over the runs). Generation is one thread, so this
// measures one core. --head-scale multiplies the head's kernel: a trained model's softmax is far
// peakier than a fresh one's, so the cut removes most levels (try 8). The printed checksum of the
// drawn samples shows whether a kernel change kept the output bit for bit.
import { parseArgs } from 'node:util';
import { initBackend } from '../src/main/engine/backend';
import { categoricalFamily } from '../src/main/engine/families/categorical';
import { readCategoricalWeights } from '../src/main/engine/families/categorical/model';
import { CategoricalStepper } from '../src/main/engine/families/categorical/stepper';
import { categoricalSpecSchema } from '../src/shared/contract';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    samples: { type: 'string', default: '32000' },
    'head-scale': { type: 'string', default: '1' },
    temperature: { type: 'string', default: '1' },
    cut: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const SAMPLES = Number(values.samples);
const HEAD_SCALE = Number(values['head-scale']);
const TEMPERATURE = Number(values.temperature);
const CUT = values.cut === undefined ? undefined : Number(values.cut);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`Expected --runs to be a positive integer, but got ${values.runs}`);
if (!Number.isInteger(SAMPLES) || SAMPLES < 1) throw new Error(`Expected --samples to be a positive integer, but got ${values.samples}`);
if (!Number.isFinite(HEAD_SCALE)) throw new Error(`Expected --head-scale to be a number, but got ${values['head-scale']}`);

await initBackend('cpu');
const spec = categoricalSpecSchema.parse({ family: 'categorical' });
const model = categoricalFamily.build(spec, 1);
const weights = readCategoricalWeights(model, spec);
weights.headKernel = weights.headKernel.map((w) => w * HEAD_SCALE);
model.dispose();

const PRIME = 2000;
const prime = new Float32Array(PRIME).map((_, i) => 0.5 * Math.sin(i * 0.05) + 0.05 * Math.sin(i * 1.3));
const stepper = new CategoricalStepper(weights, spec.context, spec.preEmphasis, { offset: 0, scale: 1 }, { prime: [prime] }, { temperature: TEMPERATURE, cut: CUT, seed: 1 });

stepper.generate(4000); // warm-up: the wasm tiers up to optimised code
const us: number[] = [];
const cpuUs: number[] = [];
let checksum = 0;
for (let r = 0; r < RUNS; r++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const [out] = stepper.generate(SAMPLES);
  us.push(Number(process.hrtime.bigint() - t0) / 1000 / SAMPLES);
  const c = process.cpuUsage(c0);
  cpuUs.push((c.user + c.system) / SAMPLES);
  for (let i = 0; i < out.length; i++) checksum = (Math.imul(checksum, 31) + Math.round(out[i] * 1e6)) | 0;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
// Wall-clock time is the measure; the process's CPU time beside it tells a busy machine (the other core's
// load, preemption) from a slower kernel.
console.log(
  `categorical ${spec.type} ${spec.units.join('x')}, context ${spec.context}, ${spec.levels} levels, head ×${HEAD_SCALE}, temperature ${TEMPERATURE}, cut ${CUT ?? 'default'}: ` +
    `${RUNS} × ${SAMPLES} samples, median ${median(us).toFixed(2)} µs/sample, min ${Math.min(...us).toFixed(2)} (runs: ${us.map((u) => u.toFixed(2)).join(' ')}; ` +
    `CPU median ${median(cpuUs).toFixed(2)}), checksum ${checksum >>> 0}`,
);
