// Seeded signal generators and the presets a user starts from. Frequencies are in cycles per sample.
import { z } from 'zod';
import { LabError } from '../errors';
import { SeededRandom } from './random';

const length = z.number().int().min(2).max(50_000_000);
const frequency = z.number().min(0).max(0.5);
const amplitude = z.number().min(0).max(1e6);
const noise = z.number().min(0).max(1e6).default(0);
const seed = z.number().int().default(1);

export const signalSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sine'), length, frequency, amplitude: amplitude.default(1), phase: z.number().default(0), noise, seed }),
  z.object({
    kind: z.literal('sines'),
    length,
    components: z.array(z.object({ frequency, amplitude, phase: z.number().default(0) })).min(1).max(64),
    noise,
    seed,
  }),
  z.object({ kind: z.literal('chirp'), length, f0: frequency, f1: frequency, amplitude: amplitude.default(1), noise, seed }),
  z.object({ kind: z.literal('square'), length, frequency, amplitude: amplitude.default(1), noise, seed }),
  z.object({ kind: z.literal('sawtooth'), length, frequency, amplitude: amplitude.default(1), noise, seed }),
]);

export type SignalSpec = z.input<typeof signalSpecSchema>;
type ParsedSpec = z.output<typeof signalSpecSchema>;

/** Parses a spec, throwing `bad_argument` with the offending field named. */
export function parseSignalSpec(spec: unknown): ParsedSpec {
  const r = signalSpecSchema.safeParse(spec);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new LabError('bad_argument', `Invalid signal ${issue.path.join('.') || 'spec'}: ${issue.message}`);
  }
  return r.data;
}

/** The clean value of a spec at sample i (no noise). */
function clean(spec: ParsedSpec, i: number): number {
  const TAU = 2 * Math.PI;
  switch (spec.kind) {
    case 'sine':
      return spec.amplitude * Math.sin(TAU * spec.frequency * i + spec.phase);
    case 'sines': {
      let s = 0;
      for (const c of spec.components) s += c.amplitude * Math.sin(TAU * c.frequency * i + c.phase);
      return s;
    }
    case 'chirp': {
      // Linear chirp: instantaneous frequency goes from f0 to f1 over the signal.
      const k = (spec.f1 - spec.f0) / spec.length;
      return spec.amplitude * Math.sin(TAU * (spec.f0 * i + 0.5 * k * i * i));
    }
    case 'square': {
      const p = (spec.frequency * i) % 1;
      return p < 0.5 ? spec.amplitude : -spec.amplitude;
    }
    case 'sawtooth': {
      const p = (spec.frequency * i) % 1;
      return spec.amplitude * (2 * p - 1);
    }
  }
}

/** Generates a signal: clean value plus Gaussian noise of standard deviation `noise`, seeded. */
export function generateSignal(input: SignalSpec): Float32Array {
  const spec = parseSignalSpec(input);
  const rng = new SeededRandom(spec.seed);
  const out = new Float32Array(spec.length);
  for (let i = 0; i < spec.length; i++) {
    out[i] = clean(spec, i) + (spec.noise > 0 ? spec.noise * rng.normal() : 0);
  }
  return out;
}

/** The clean signal (what a perfect denoiser would see), for plots and references. */
export function generateCleanSignal(input: SignalSpec): Float32Array {
  const spec = parseSignalSpec(input);
  const out = new Float32Array(spec.length);
  for (let i = 0; i < spec.length; i++) out[i] = clean(spec, i);
  return out;
}

/** The variance of the added noise: the best MSE any next-sample predictor can reach. */
export function noiseFloor(input: SignalSpec): number {
  const spec = parseSignalSpec(input);
  return spec.noise * spec.noise;
}

export interface Preset {
  name: string;
  description: string;
  signal: SignalSpec;
  /** Nominal sample rate in Hz, used when a signal is played or written to WAV. */
  sampleRate: number;
}

/** Presets sound at 44.1 kHz so that 0.01 cycles/sample plays as a 441 Hz tone. */
export const PRESET_SAMPLE_RATE = 44_100;

export const PRESETS: Record<string, Preset> = {
  sine: {
    name: 'sine',
    description: "The 2017 notebook's signal: sin(2π·0.01·i) + N(0, 0.02²), 50,001 samples",
    signal: { kind: 'sine', length: 50_001, frequency: 0.01, amplitude: 1, noise: 0.02, seed: 1 },
    sampleRate: PRESET_SAMPLE_RATE,
  },
  sines: {
    name: 'sines',
    description: 'Three sines at 0.01, 0.023 and 0.037 cycles/sample with light noise',
    signal: {
      kind: 'sines',
      length: 50_001,
      components: [
        { frequency: 0.01, amplitude: 0.6 },
        { frequency: 0.023, amplitude: 0.3, phase: 1 },
        { frequency: 0.037, amplitude: 0.1, phase: 2 },
      ],
      noise: 0.02,
      seed: 1,
    },
    sampleRate: PRESET_SAMPLE_RATE,
  },
  chirp: {
    name: 'chirp',
    description: 'A linear chirp from 0.005 to 0.05 cycles/sample',
    signal: { kind: 'chirp', length: 50_001, f0: 0.005, f1: 0.05, amplitude: 1, noise: 0.02, seed: 1 },
    sampleRate: PRESET_SAMPLE_RATE,
  },
  square: {
    name: 'square',
    description: 'A square wave, 0.01 cycles/sample',
    signal: { kind: 'square', length: 50_001, frequency: 0.01, amplitude: 1, noise: 0.02, seed: 1 },
    sampleRate: PRESET_SAMPLE_RATE,
  },
  sawtooth: {
    name: 'sawtooth',
    description: 'A sawtooth wave, 0.01 cycles/sample',
    signal: { kind: 'sawtooth', length: 50_001, frequency: 0.01, amplitude: 1, noise: 0.02, seed: 1 },
    sampleRate: PRESET_SAMPLE_RATE,
  },
};

/** The preset of that name, or undefined; never a property of Object.prototype ("constructor", "__proto__"). */
export function findPreset(name: string): Preset | undefined {
  return Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
}

export function getPreset(name: string): Preset {
  const p = findPreset(name);
  if (!p) throw new LabError('bad_argument', `Unknown preset "${name}"; expected one of ${Object.keys(PRESETS).join(', ')}`);
  return p;
}
