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
  | 'wav-exported'
  | 'engine-status'
  | 'error-shown';

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
