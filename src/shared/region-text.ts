// A recording's regions as typed in the UI or the CLI: "1.5-3.2" (seconds), or blank for none. Pure, so the
// form's messages are unit-tested without a page.
import type { Region } from './contract';

/** "1.5-3.2" for a region, "" for none. */
export function formatRegion(r: Region | undefined): string {
  return r ? `${round(r.start)}-${round(r.end)}` : '';
}

function round(x: number): string {
  return String(Math.round(x * 1000) / 1000);
}

/** A region typed as "start-end" in seconds within a recording of `seconds`, or why not. Blank: none. */
export function checkRegionText(text: string, seconds: number): { value: Region | null; error: null } | { value: null; error: string } {
  const t = text.trim();
  if (t === '') return { value: null, error: null };
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*(?:-|–|to)\s*(\d+(?:\.\d*)?|\.\d+)$/.exec(t);
  if (!m) return { value: null, error: 'write it as start-end in seconds, like 1.5-3' };
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end <= start) return { value: null, error: 'must end after it starts' };
  if (start >= seconds) return { value: null, error: `starts after the recording ends (${round(seconds)} s)` };
  return { value: { start, end: Math.min(end, seconds) }, error: null };
}
