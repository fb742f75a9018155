// App events that end-to-end tests (and curious users, in the console) wait on instead of sleeping:
// each is dispatched as a 'sequence-lab' CustomEvent and kept in window.__seqlabEvents.
export type AppEventType =
  | 'app-loaded'
  | 'signal-shown'
  | 'recording-done'
  | 'training-progress'
  | 'training-done'
  | 'generation-done'
  | 'playback-started'
  | 'playback-stopped'
  | 'playback-ended' // detail: { label, underruns, seconds }: a continuation heard as it was generated played to its end
  | 'wav-exported'
  | 'engine-status'
  | 'error-shown'
  | 'connection' // detail: { online, reason? }: the engine server went away or came back
  | 'models-listed' // detail: { names }: the runs table was refreshed
  | 'run-opened' // detail: { name }: a saved run is shown in the training panel
  | 'run-duplicated' // detail: { name, signal }: a saved run's signal and settings are in the form
  | 'cancel-requested' // detail: { runId }: Cancel pressed; "cancelling…" is shown until training-done
  | 'compare-shown' // detail: { names }: the comparison chart draws these runs
  | 'recordings-listed' // detail: { names }: the recordings library was refreshed
  | 'recording-chosen' // detail: { name }: a library recording is the signal
  | 'recording-imported' // detail: { name, samples, sampleRate }: a file is in the library
  | 'recording-downloaded' // detail: { name, bytes }: a recording was saved as WAV
  | 'live-started' // detail: { model, mode, sampleRate, family }: the microphone runs through a model
  | 'live-stopped'; // detail: { batches, underruns, dropped, medianMs, p95Ms, maxMs }: live mode ended

export interface AppEvent {
  type: AppEventType;
  detail?: Record<string, unknown>;
  at: number;
}

declare global {
  interface Window {
    __seqlabEvents?: AppEvent[];
  }
}

export function emitAppEvent(type: AppEventType, detail?: Record<string, unknown>): void {
  const e: AppEvent = { type, detail, at: performance.now() };
  (window.__seqlabEvents ??= []).push(e);
  window.dispatchEvent(new CustomEvent('sequence-lab', { detail: e }));
}
