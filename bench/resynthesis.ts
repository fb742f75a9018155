// Resynthesis without a model (spectral family, issue 11 item 1), run as a script, not a timed test:
//   node --import tsx bench/resynthesis.ts [--keep DIR]
// Makes a sustained vowel and speech with espeak-ng and a plucked tone with sox, all resampled to
// 16 kHz mono (plus a band-limited 220 Hz sawtooth made here: sox's aliases, and aliases crowd the
// spectrum with partials closer than the phase locking can tell apart), and measures at 1024/256 how transparent analysis followed by phase-vocoder
// resynthesis is: LSD (dB) and spectral convergence against the original. Bar: LSD <= 1 dB on the
// vowel, the tone and speech. Also measured: resynthesis from mel-warped magnitudes (the choice the
// issue leaves open: 80 or 128 bands miss the bar by 0.5 to 5 dB, so src/shared/dsp has no mel
// filterbank and the spectral family predicts linear bins), time stretches (a 440 Hz sine's frequency
// and amplitude; 2x then 0.5x back), with and without phase locking, and resynthesis speed.
// Prints a table to stderr and a JSON summary; exits 1 if the bar fails.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Matrix, pseudoInverse } from 'ml-matrix';
import { resynthesizeSignal, timeStretch } from '../src/shared/dsp/phase-vocoder';
import { peakDeviations } from '../src/shared/dsp/spectral-features';
import { spectralDistance, type SpectralDistance } from '../src/shared/dsp/spectral-distance';
import { dominantFrequency, rms } from '../src/shared/dsp/spectrum';
import { expMagnitudes, frequencyDeviations, istft, logMagnitudes, magnitudes, stft } from '../src/shared/dsp/stft';
import { decodeWav } from '../src/shared/signals/wav';

const SAMPLE_RATE = 16_000;
const FRAME_SIZE = 1024;
const HOP = 256;
const LSD_BAR_DB = 1;
/** Mel band counts tried for the mel-warped magnitudes (80 is the usual speech front end, 128 a generous one). */
const MEL_BANDS = [80, 128];

const { values } = parseArgs({ options: { keep: { type: 'string' } } });
const dir = values.keep ?? mkdtempSync(path.join(os.tmpdir(), 'resynthesis-'));
mkdirSync(dir, { recursive: true });

/** A recording made by `make` into a WAV, resampled to 16 kHz mono with sox and decoded. */
function recording(name: string, make: (file: string) => void): Float32Array {
  const raw = path.join(dir, `${name}-raw.wav`);
  const file = path.join(dir, `${name}.wav`);
  make(raw);
  execFileSync('sox', [raw, '-r', String(SAMPLE_RATE), '-c', '1', file]);
  const audio = decodeWav(readFileSync(file), file);
  if (audio.sampleRate !== SAMPLE_RATE) throw new Error(`Expected ${file} at ${SAMPLE_RATE} Hz, but got ${audio.sampleRate}`);
  return audio.samples;
}

/** A sawtooth as the sum of its harmonics below Nyquist, amplitude about 0.5. */
function bandLimitedSawtooth(frequency: number, seconds: number): Float32Array {
  const x = new Float32Array(seconds * SAMPLE_RATE);
  for (let h = 1; h * frequency < SAMPLE_RATE / 2; h++) {
    for (let i = 0; i < x.length; i++) x[i] += (0.3 / h) * Math.sin((2 * Math.PI * h * frequency * i) / SAMPLE_RATE);
  }
  return x;
}

const recordings: Record<string, Float32Array> = {
  vowel: recording('vowel', (f) => execFileSync('espeak-ng', ['-v', 'en+f2', '-s', '30', '-w', f, 'aaaaa'])),
  tone: recording('tone', (f) => execFileSync('sox', ['-n', '-r', String(SAMPLE_RATE), f, 'synth', '2', 'pluck', '220'])),
  sawtooth: bandLimitedSawtooth(220, 2),
  speech: recording('speech', (f) => execFileSync('espeak-ng', ['-w', f, 'the quick brown fox jumps over the lazy dog'])),
};

// ---- Mel warping: measured here, not shipped (it fails the bar; see the header) ----------------------

/** Triangular mel filterbank (HTK mel scale), [bands, bins], edges equally spaced in mel from 0 to Nyquist. */
function melFilterbank(bands: number, frameSize: number, sampleRate: number): Matrix {
  const bins = frameSize / 2 + 1;
  const mel = (f: number) => 2595 * Math.log10(1 + f / 700);
  const hz = (m: number) => 700 * (10 ** (m / 2595) - 1);
  const top = mel(sampleRate / 2);
  const edges = Array.from({ length: bands + 2 }, (_, i) => hz((top * i) / (bands + 1)));
  const m = new Matrix(bands, bins);
  for (let b = 0; b < bands; b++) {
    for (let k = 0; k < bins; k++) {
      const f = (k * sampleRate) / frameSize;
      const w = Math.min((f - edges[b]) / (edges[b + 1] - edges[b]), (edges[b + 2] - f) / (edges[b + 2] - edges[b + 1]));
      m.set(b, k, Math.max(0, w));
    }
  }
  return m;
}

/** Magnitudes taken to `bands` mel bands and back (least squares, clamped at zero), as a model predicting mel bands would give them. */
function throughMel(magnitude: Float32Array, bins: number, bands: number): Float32Array {
  const fb = melFilterbank(bands, FRAME_SIZE, SAMPLE_RATE);
  const back = pseudoInverse(fb);
  const frames = magnitude.length / bins;
  const spectra = new Matrix(bins, frames);
  for (let t = 0; t < frames; t++) for (let k = 0; k < bins; k++) spectra.set(k, t, magnitude[t * bins + k]);
  const restored = back.mmul(fb.mmul(spectra));
  const out = new Float32Array(magnitude.length);
  for (let t = 0; t < frames; t++) for (let k = 0; k < bins; k++) out[t * bins + k] = Math.max(0, restored.get(k, t));
  return out;
}

// ---- Measures -------------------------------------------------------------------------------------------

const round = (v: number, digits = 3) => Number(v.toPrecision(digits));
const figures = (d: SpectralDistance) => ({ lsd_db: round(d.lsd), sc: round(d.spectralConvergence) });

const results: Record<string, unknown> = {};
const rows: string[] = [];
let pass = true;
for (const [name, x] of Object.entries(recordings)) {
  const spec = stft(x, { frameSize: FRAME_SIZE, hop: HOP });
  const magnitude = magnitudes(spec);
  const deviation = frequencyDeviations(spec);
  const stftOnly = spectralDistance(x, istft(spec));
  // The features a model sees and predicts: floored log-magnitudes (Float32) and frequency deviations.
  const resynthesis = resynthesizeSignal(expMagnitudes(logMagnitudes(magnitude)), deviation, { frameSize: FRAME_SIZE, analysisHop: HOP, length: x.length });
  const pv = spectralDistance(x, resynthesis);
  const mel = Object.fromEntries(
    MEL_BANDS.map((bands) => [`mel${bands}`, figures(spectralDistance(x, resynthesizeSignal(throughMel(magnitude, spec.bins, bands), deviation, { frameSize: FRAME_SIZE, analysisHop: HOP, length: x.length })))]),
  );
  const there = (locking: boolean) => timeStretch(timeStretch(x, 2, { phaseLocking: locking }).samples, 0.5, { phaseLocking: locking }).samples;
  const roundTrip = { locked: figures(spectralDistance(x, there(true))), unlocked: figures(spectralDistance(x, there(false))) };
  // What a generator has: magnitudes with no measured phase, each partial's frequency from the peaks
  // (peakDeviations), resynthesised as drawn frames and, for comparison, as if they had been measured.
  const peakDeviation = new Float32Array(magnitude.length);
  const peakBins = new Int32Array(spec.bins);
  for (let t = 0; t < spec.frames; t++) {
    peakDeviations(magnitude.subarray(t * spec.bins, (t + 1) * spec.bins), spec.bins, peakDeviation.subarray(t * spec.bins, (t + 1) * spec.bins), peakBins);
  }
  const fromPeaks = (drawn: boolean) => {
    const y = resynthesizeSignal(magnitude, peakDeviation, { frameSize: FRAME_SIZE, analysisHop: HOP, length: x.length, drawn });
    return { ...figures(spectralDistance(x, y)), rms_ratio: round(rms(y) / rms(x)) };
  };
  const drawn = { drawn: fromPeaks(true), as_measured: fromPeaks(false) };
  const ok = pv.lsd <= LSD_BAR_DB;
  if (name !== 'sawtooth') pass &&= ok;
  results[name] = { seconds: round(x.length / SAMPLE_RATE), stft_istft: figures(stftOnly), phase_vocoder: figures(pv), ...mel, stretch_2x_then_half: roundTrip, peak_frequencies: drawn };
  rows.push(
    `${name.padEnd(9)} ${(x.length / SAMPLE_RATE).toFixed(2)} s  istft LSD ${stftOnly.lsd.toExponential(1)} dB  vocoder LSD ${pv.lsd.toExponential(1)} dB SC ${pv.spectralConvergence.toExponential(1)} ${ok ? 'ok' : 'FAIL'}  ` +
      MEL_BANDS.map((b) => `mel${b} LSD ${(mel[`mel${b}`] as { lsd_db: number }).lsd_db} dB`).join('  ') +
      `  2x→0.5x LSD ${roundTrip.locked.lsd_db} dB locked / ${roundTrip.unlocked.lsd_db} unlocked` +
      `  peaks' frequencies: RMS ${drawn.drawn.rms_ratio}x LSD ${drawn.drawn.lsd_db} dB drawn / ${drawn.as_measured.rms_ratio}x ${drawn.as_measured.lsd_db} dB as measured`,
  );
}

// A 440 Hz sine at amplitude 0.5 for 2 s, stretched: frequency and amplitude away from the edges.
const f0 = 440 / SAMPLE_RATE;
const sine = Float32Array.from({ length: 2 * SAMPLE_RATE }, (_, i) => 0.5 * Math.sin(2 * Math.PI * f0 * i));
const sineResults: Record<string, unknown> = {};
for (const factor of [1, 2, 0.5]) {
  for (const locking of [true, false]) {
    const s = timeStretch(sine, factor, { phaseLocking: locking }).samples;
    const middle = s.subarray(FRAME_SIZE, s.length - FRAME_SIZE);
    const figure = {
      length_ratio: round(s.length / sine.length, 4),
      frequency_error_pct: round((Math.abs(dominantFrequency(middle) - f0) / f0) * 100, 2),
      amplitude_error_pct: round((Math.abs(rms(middle) * Math.SQRT2 - 0.5) / 0.5) * 100, 2),
    };
    sineResults[`x${factor}${locking ? '' : '_unlocked'}`] = figure;
    rows.push(`sine 440 Hz x${factor}${locking ? '' : ' unlocked'}: length ${figure.length_ratio}x, frequency off ${figure.frequency_error_pct} %, amplitude off ${figure.amplitude_error_pct} %`);
  }
}

// Speed of resynthesis alone, best of three on the speech (the machine may be shared).
const speech = stft(recordings.speech, { frameSize: FRAME_SIZE, hop: HOP });
const [speechMagnitude, speechDeviation] = [magnitudes(speech), frequencyDeviations(speech)];
let best = Infinity;
for (let i = 0; i < 3; i++) {
  const started = performance.now();
  resynthesizeSignal(speechMagnitude, speechDeviation, { frameSize: FRAME_SIZE, analysisHop: HOP });
  best = Math.min(best, (performance.now() - started) / 1000);
}
const realTime = Math.round(recordings.speech.length / SAMPLE_RATE / best);
rows.push(`phase-vocoder resynthesis: ${realTime}x real time (${round((best / speech.frames) * 1e6)} µs per frame)`);

process.stderr.write(rows.join('\n') + '\n');
console.log(JSON.stringify({ frame_size: FRAME_SIZE, hop: HOP, sample_rate: SAMPLE_RATE, lsd_bar_db: LSD_BAR_DB, recordings: results, sine_440hz: sineResults, resynthesis_x_real_time: realTime, pass }, null, 1));
if (!values.keep) rmSync(dir, { recursive: true, force: true });
process.exit(pass ? 0 : 1);
