// Live: the microphone through a model and back to the speakers. Follow plays the model's one-step
// predictions of what you play (you hear what it expects); call and response listens while you play
// and answers when you stop. The round trip of each batch and any under-runs are shown as they happen.
import { useEffect, useRef, useState } from 'react';
import type { LiveModeName, ModelSummary } from '../../../shared/protocol';
import { LiveLoop, type LiveFigures } from '../../audio/live-loop';
import type { LabClient } from '../../lab-client';
import { emitAppEvent } from '../../app-events';

const MODE_LABELS: Record<LiveModeName, string> = { follow: 'follow (hear what it expects)', 'call-response': 'call and response' };

export interface LivePanelProps {
  client: LabClient;
  models: ModelSummary[];
  unavailable?: string | null;
  onError: (message: string) => void;
  /** Live mode starts: anything else playing stops. */
  onStart?: () => void;
}

export function LivePanel({ client, models, unavailable, onError, onStart }: LivePanelProps) {
  const usable = models.filter((m) => m.status === 'complete' || m.epochsDone > 0);
  const [model, setModel] = useState<string>('');
  const [mode, setMode] = useState<LiveModeName>('follow');
  const [running, setRunning] = useState<{ loop: LiveLoop; family: string } | null>(null);
  const [starting, setStarting] = useState(false);
  const [figures, setFigures] = useState<LiveFigures | null>(null);
  const loopRef = useRef<LiveLoop | null>(null);
  const chosen = usable.find((m) => m.name === model) ?? usable[usable.length - 1] ?? null;

  useEffect(() => () => void loopRef.current?.stop(), []);

  const start = async () => {
    if (!chosen) return;
    onStart?.();
    const loop = new LiveLoop({ client, model: chosen.name, mode, sampleRate: chosen.sampleRate });
    loopRef.current = loop;
    let last = 0;
    loop.onFigures = (f) => {
      const now = performance.now();
      if (now - last < 200) return; // the panel redraws five times a second
      last = now;
      setFigures({ ...f });
    };
    loop.onError = (m) => {
      setRunning(null);
      loopRef.current = null;
      onError(`Live mode stopped: ${m}`);
    };
    setStarting(true);
    try {
      const { family } = await loop.start();
      setRunning({ loop, family });
      setFigures({ ...loop.figures });
      emitAppEvent('live-started', { model: chosen.name, mode, sampleRate: chosen.sampleRate, family });
    } catch (e) {
      loopRef.current = null;
      onError((e as Error).message);
    } finally {
      setStarting(false);
    }
  };

  const stop = async () => {
    const r = running;
    if (!r) return;
    setRunning(null);
    loopRef.current = null;
    const f = await r.loop.stop();
    setFigures({ ...f });
    emitAppEvent('live-stopped', { batches: f.batches, underruns: f.underruns, dropped: f.dropped, medianMs: f.medianMs, p95Ms: f.p95Ms, maxMs: f.maxMs, responses: f.responses });
  };

  const f = figures;
  return (
    <section className="panel" aria-labelledby="live-h">
      <h2 id="live-h">Live</h2>
      <div className="row">
        <label>
          model
          <select data-testid="live-model" value={chosen?.name ?? ''} disabled={!!running} onChange={(e) => setModel(e.target.value)}>
            {usable.length === 0 && <option value="">train a model first</option>}
            {usable.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name} ({m.family ?? 'regression'}, {m.sampleRate} Hz)
              </option>
            ))}
          </select>
        </label>
        <label>
          mode
          <select data-testid="live-mode" value={mode} disabled={!!running} onChange={(e) => setMode(e.target.value as LiveModeName)}>
            {(Object.keys(MODE_LABELS) as LiveModeName[]).map((m) => (
              <option key={m} value={m}>
                {MODE_LABELS[m]}
              </option>
            ))}
          </select>
        </label>
        {running ? (
          <button data-testid="live-stop" onClick={() => void stop()}>
            Stop live
          </button>
        ) : (
          <button data-testid="live-start" disabled={!chosen || starting || !!unavailable} onClick={() => void start()} title="Uses the microphone; wear headphones, or the model hears itself">
            {starting ? 'Starting…' : 'Start live'}
          </button>
        )}
      </div>
      <p className="hint">
        {mode === 'follow'
          ? 'The model hears the microphone and plays, for each sample, what it expected it to be.'
          : 'The model listens while you play or sing; when you stop, it carries on from what it heard until you play again.'}{' '}
        Wear headphones: otherwise it hears itself.
      </p>
      {f && (
        <dl className="live-figures" data-testid="live-figures" data-batches={f.batches} data-underruns={f.underruns} data-median-ms={f.medianMs.toFixed(2)}>
          <div>
            <dt>round trip</dt>
            <dd data-testid="live-latency">
              {f.batches ? `${f.medianMs.toFixed(1)} ms median, ${f.p95Ms.toFixed(1)} ms 95 %, ${f.maxMs.toFixed(1)} ms max` : '…'}
            </dd>
          </div>
          <div>
            <dt>batches</dt>
            <dd>{f.batches.toLocaleString('en-US')}{f.dropped ? `, ${f.dropped} dropped (the engine fell behind)` : ''}</dd>
          </div>
          <div>
            <dt>under-runs</dt>
            <dd data-testid="live-underruns" className={f.underruns ? 'warn-text' : undefined}>
              {f.underruns}
            </dd>
          </div>
          <div>
            <dt>model</dt>
            <dd data-testid="live-state">
              {running ? (f.state === 'responding' ? 'responding' : mode === 'follow' ? 'following' : 'listening') : 'stopped'} · {f.computeMs.toFixed(1)} ms per batch · input {f.levelDbfs.toFixed(0)} dBFS
            </dd>
          </div>
        </dl>
      )}
    </section>
  );
}
