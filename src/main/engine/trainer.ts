// The training loop: Adam on next-sample MSE, with progress events, cancellation at a batch
// boundary, rollback on a non-finite loss, epoch-end checkpoints and optional early stopping.
import * as tf from '@tensorflow/tfjs';
import type { EpochRecord, TrainConfig, TrainEvent, TrainOutcome } from '../../shared/contract';
import type { WindowDataset } from './dataset';
import { fusedRecurrentPredict, fusedPredictWindows, wasmCapable } from './fused-recurrent';
import { predictWindows, readWeights } from './recurrent-step';
import type { CellType } from '../../shared/packed-state';
import { LabError } from '../../shared/errors';
import type { NamedTensor } from './store';

/** Dev loss during training is measured on at most this many windows (the full dev split at the end). */
export const DEV_WINDOWS_PER_EPOCH = 20_000;

export type { EpochRecord };

export interface CheckpointContext {
  epoch: number;
  history: EpochRecord[];
  optimizerWeights: NamedTensor[];
}

export interface TrainerOptions {
  model: tf.LayersModel;
  cell: CellType;
  dataset: WindowDataset;
  config: TrainConfig;
  /** Epochs already done (when resuming). */
  startEpoch?: number;
  /** Optimizer state from a checkpoint, in Adam.getWeights() order. */
  optimizerWeights?: NamedTensor[] | null;
  /** Earlier epochs' records (when resuming). */
  history?: EpochRecord[];
  /** 'fused': the whole LSTM stack in one op (lstm.wasm); 'layers': tfjs-layers' own LSTM. */
  forward?: 'fused' | 'layers';
  /** Multiplies losses so that they are reported in signal units (scale² of the normalisation). */
  lossScale?: number;
  /**
   * Windows the final evaluation will predict, so that the ETA covers it; a prediction is taken to
   * cost a third of a training window (forward pass only).
   */
  finalEvaluationWindows?: number;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  /** Called at each epoch end, after the event, with the optimizer state; awaited. */
  onCheckpoint?: (c: CheckpointContext) => Promise<void>;
}

export interface TrainResult {
  outcome: TrainOutcome;
  epochsDone: number;
  history: EpochRecord[];
  /** Set when outcome is 'diverged': what happened. */
  message: string | null;
  /** Adam's state at the end (copies the caller disposes), so that a finished run can be resumed exactly. */
  optimizerWeights: NamedTensor[];
}

/** Learning rate for a batch: constant, or cosine from lr to finalLr over all batches of all epochs. */
export function learningRateAt(cfg: TrainConfig, progress: number): number {
  if (cfg.finalLearningRate === null) return cfg.learningRate;
  const p = Math.min(1, Math.max(0, progress));
  return cfg.finalLearningRate + 0.5 * (cfg.learningRate - cfg.finalLearningRate) * (1 + Math.cos(Math.PI * p));
}

/** Windows predicted between two yields to the event loop while measuring a model's error. */
export const EVAL_CHUNK_WINDOWS = 4096;

/** Recurrent steps run to measure models (tests check that evaluation cost does not grow with a recording). */
export const evaluationSteps = { count: 0 };

export interface ErrorStats {
  /** Mean squared error in network units. */
  mse: number;
  /** Half-width of the 95 % confidence interval of `mse` (normal approximation over the windows). */
  ci95: number;
  windows: number;
}

export interface MeasureOptions {
  /** Stops with a `cancelled` error at the next chunk. */
  signal?: AbortSignal;
  /** Windows done so far, after each chunk. */
  onProgress?: (done: number) => void;
}

/**
 * The model's squared error on the windows at `starts`, in network units. Runs in chunks that yield
 * to the event loop (other requests are served meanwhile) and honours cancellation between them.
 */
export async function modelErrors(model: tf.LayersModel, cell: CellType, dataset: WindowDataset, starts: Int32Array, o: MeasureOptions = {}): Promise<ErrorStats> {
  const w = await readWeights(model, cell);
  const fused = wasmCapable(w);
  let s = 0;
  let s2 = 0;
  for (let from = 0; from < starts.length; from += EVAL_CHUNK_WINDOWS) {
    if (o.signal?.aborted) throw new LabError('cancelled', 'Evaluation was cancelled');
    const part = starts.subarray(from, from + EVAL_CHUNK_WINDOWS);
    const pred = fused ? fusedPredictWindows(w, dataset.signal, part, dataset.window) : predictWindows(w, dataset.signal, part, dataset.window);
    evaluationSteps.count += part.length * dataset.window;
    for (let i = 0; i < part.length; i++) {
      const e = pred[i] - dataset.signal[part[i] + dataset.window];
      s += e * e;
      s2 += e * e * e * e;
    }
    o.onProgress?.(from + part.length);
    if (from + EVAL_CHUNK_WINDOWS < starts.length) await new Promise((r) => setImmediate(r));
  }
  const n = starts.length;
  const mse = s / n;
  const variance = Math.max(0, s2 / n - mse * mse);
  return { mse, ci95: n > 1 ? 1.96 * Math.sqrt(variance / (n - 1)) : NaN, windows: n };
}

/** Mean squared error of the model on the windows at `starts`, in network units (see modelErrors). */
export async function modelMse(model: tf.LayersModel, cell: CellType, dataset: WindowDataset, starts: Int32Array, signal?: AbortSignal): Promise<number> {
  return (await modelErrors(model, cell, dataset, starts, { signal })).mse;
}

function snapshot(vars: tf.Variable[]): tf.Tensor[] {
  return vars.map((v) => tf.clone(v));
}

function restore(vars: tf.Variable[], snap: tf.Tensor[]): void {
  vars.forEach((v, i) => v.assign(snap[i]));
}

function disposeAll(ts: tf.Tensor[] | null): void {
  if (ts) tf.dispose(ts);
}

export class Trainer {
  constructor(private readonly o: TrainerOptions) {}

  async run(): Promise<TrainResult> {
    const { model, dataset, config: cfg, cell } = this.o;
    const emit = this.o.onEvent ?? (() => {});
    const scale = this.o.lossScale ?? 1;
    const history: EpochRecord[] = [...(this.o.history ?? [])];
    const startEpoch = this.o.startEpoch ?? 0;
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = tf.train.adam(cfg.learningRate);
    const forward = (x: tf.Tensor3D): tf.Tensor =>
      this.o.forward === 'fused' ? fusedRecurrentPredict(model, x) : (model.apply(x, { training: true }) as tf.Tensor);
    if (this.o.optimizerWeights && this.o.optimizerWeights.length) await optimizer.setWeights(this.o.optimizerWeights);

    const trainPerEpoch = cfg.maxTrainWindows > 0 ? Math.min(cfg.maxTrainWindows, dataset.splits.train.length) : dataset.splits.train.length;
    const batchesPerEpoch = Math.ceil(trainPerEpoch / cfg.batchSize);
    const totalBatches = cfg.epochs * batchesPerEpoch;
    const devStarts = dataset.splits.dev.subarray(0, DEV_WINDOWS_PER_EPOCH);
    const evalCost = (this.o.finalEvaluationWindows ?? 0) / 3; // in training-window equivalents

    let outcome: TrainOutcome = 'completed';
    let message: string | null = null;
    let lastGood: tf.Tensor[] | null = null;
    let best: { loss: number; weights: tf.Tensor[] } | null = null;
    let sinceBest = 0;
    let epochsDone = startEpoch;
    let finalOptimizer: NamedTensor[] = [];
    const t0 = performance.now();
    let seqDone = 0;

    try {
      epochs: for (let epoch = startEpoch + 1; epoch <= cfg.epochs; epoch++) {
        const tEpoch = performance.now();
        const order = dataset.epochOrder(epoch, cfg.seed, cfg.maxTrainWindows);
        let lossSum = 0;
        let lossCount = 0;
        let lr = cfg.learningRate;
        for (let b = 0; b < batchesPerEpoch; b++) {
          if (this.o.signal?.aborted) {
            outcome = 'cancelled';
            break epochs;
          }
          lr = learningRateAt(cfg, ((epoch - 1) * batchesPerEpoch + b) / Math.max(1, totalBatches - 1));
          (optimizer as unknown as { learningRate: number }).learningRate = lr;
          const pending = snapshot(vars);
          const { x, y } = dataset.batch(order, b * cfg.batchSize, cfg.batchSize);
          const lossT = optimizer.minimize(() => tf.losses.meanSquaredError(y, forward(x)) as tf.Scalar, true, vars);
          tf.dispose([x, y]);
          const loss = (await lossT!.data())[0];
          lossT!.dispose();
          if (!Number.isFinite(loss)) {
            // The weights that produced this loss are bad; go back to the last ones that gave a finite loss.
            restore(vars, lastGood ?? pending);
            disposeAll(pending);
            outcome = 'diverged';
            message = `Training stopped at epoch ${epoch}, batch ${b + 1}: the loss became ${loss}; weights rolled back to the last finite-loss step`;
            emit({ type: 'notice', level: 'warning', message });
            break epochs;
          }
          disposeAll(lastGood);
          lastGood = pending;
          const n = Math.min(cfg.batchSize, order.length - b * cfg.batchSize);
          seqDone += n;
          lossSum += loss * n;
          lossCount += n;
          const elapsed = (performance.now() - t0) / 1000;
          const seqPerSecond = seqDone / elapsed;
          const remaining = (cfg.epochs - epoch) * trainPerEpoch + (trainPerEpoch - (b * cfg.batchSize + n));
          emit({ type: 'batch', epoch, batch: b + 1, batches: batchesPerEpoch, loss: loss * scale, seqPerSecond, etaSeconds: (remaining + evalCost) / seqPerSecond });
        }
        const trainLoss = (lossSum / Math.max(1, lossCount)) * scale;
        const devLoss = (await modelMse(model, cell, dataset, devStarts)) * scale;
        const seconds = (performance.now() - tEpoch) / 1000;
        history.push({ epoch, trainLoss, devLoss, learningRate: lr, seconds });
        epochsDone = epoch;
        const elapsed = (performance.now() - t0) / 1000;
        const seqPerSecond = seqDone / elapsed;
        emit({ type: 'epoch', epoch, epochs: cfg.epochs, trainLoss, devLoss, seqPerSecond, etaSeconds: ((cfg.epochs - epoch) * trainPerEpoch + evalCost) / seqPerSecond, learningRate: lr });
        if (this.o.onCheckpoint) {
          const optimizerWeights = await optimizer.getWeights();
          try {
            await this.o.onCheckpoint({ epoch, history, optimizerWeights });
          } finally {
            optimizerWeights[0].tensor.dispose(); // the iteration count is a fresh scalar; the rest are live variables
          }
        }

        if (cfg.earlyStopPatience > 0) {
          if (!best || devLoss < best.loss) {
            disposeAll(best?.weights ?? null);
            best = { loss: devLoss, weights: snapshot(vars) };
            sinceBest = 0;
          } else if (++sinceBest >= cfg.earlyStopPatience) {
            restore(vars, best.weights);
            outcome = 'early-stopped';
            emit({ type: 'notice', level: 'info', message: `Early stop after epoch ${epoch}: dev loss has not improved for ${sinceBest} epochs; kept the weights of the best epoch` });
            break;
          }
        }
      }
      const live = await optimizer.getWeights();
      finalOptimizer = live.map((w, i) => ({ name: w.name, tensor: i === 0 ? w.tensor : tf.clone(w.tensor) }));
    } finally {
      disposeAll(lastGood);
      disposeAll(best?.weights ?? null);
      optimizer.dispose();
    }
    return { outcome, epochsDone, history, message, optimizerWeights: finalOptimizer };
  }
}
