// The training loop: Adam on a model family's loss (families/family.ts), with progress events,
// cancellation at a batch boundary, rollback on a non-finite loss, epoch-end checkpoints and
// optional early stopping. It knows no family: the objective says what a batch's loss is.
import * as tf from '@tensorflow/tfjs';
import type { EpochRecord, TrainConfig, TrainEvent, TrainOutcome } from '../../shared/contract';
import type { CellType } from '../../shared/packed-state';
import type { FamilyDataset, TrainingObjective } from './families/family';
import { regressionObjective } from './families/regression/objective';
import type { WindowDataset } from './dataset';
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
  /** The windows to train on, as the model's family frames them. */
  dataset: FamilyDataset;
  /** The loss and its dev measure, from the model's family (`family.objective(...)`). */
  objective?: TrainingObjective;
  /**
   * Without `objective`: the cell of a regression model (the next-sample MSE of
   * families/regression), with `forward` choosing its implementation and `dataset` a WindowDataset.
   */
  cell?: CellType;
  config: TrainConfig;
  /** Epochs already done (when resuming). */
  startEpoch?: number;
  /** Optimizer state from a checkpoint, in Adam.getWeights() order. */
  optimizerWeights?: NamedTensor[] | null;
  /** Earlier epochs' records (when resuming). */
  history?: EpochRecord[];
  /** Without `objective`: 'fused', the whole LSTM stack in one op (lstm.wasm); 'layers', tfjs-layers' own LSTM. */
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
    const { model, dataset, config: cfg } = this.o;
    const objective = this.o.objective ?? regressionObjective(model, this.o.cell ?? 'lstm', dataset as WindowDataset, this.o.forward ?? 'layers');
    const emit = this.o.onEvent ?? (() => {});
    const scale = this.o.lossScale ?? 1;
    const history: EpochRecord[] = [...(this.o.history ?? [])];
    const startEpoch = this.o.startEpoch ?? 0;
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = tf.train.adam(cfg.learningRate);
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
          const lossT = optimizer.minimize(() => objective.loss(x, y), true, vars);
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
        const devLoss = (await objective.measure(devStarts)) * scale;
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
