// Sizes the browser-mode server enforces, shared so that the UI refuses what the server would refuse
// (with a message that says why) instead of sending it and losing the connection.

/** The largest WebSocket message the server accepts, in bytes; a bigger one closes the connection (1009). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Room in a frame for the JSON beside the samples (names, settings): generous, requests are small. */
const FRAME_OVERHEAD_BYTES = 64 * 1024;

/** The most float32 samples one signal may have in browser mode (67,092,480: about 25 minutes at 44.1 kHz). */
export const MAX_SIGNAL_SAMPLES = Math.floor((MAX_FRAME_BYTES - FRAME_OVERHEAD_BYTES) / 4);

/** Why a signal is too long to send to the engine in browser mode, or null when it fits. */
export function signalTooLong(name: string, samples: number): string | null {
  if (samples <= MAX_SIGNAL_SAMPLES) return null;
  return `${name} has ${samples.toLocaleString('en-US')} samples; the lab takes at most ${MAX_SIGNAL_SAMPLES.toLocaleString('en-US')} per signal (${MAX_FRAME_BYTES / 2 ** 20} MB as float32). Cut it shorter first.`;
}
