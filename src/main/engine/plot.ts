// A self-contained SVG of primed, generated and true samples, for the CLI's --plot.
// Hand-written: three polylines and an axis need no charting library in a headless process.

export interface PlotSeries {
  label: string;
  color: string;
  /** Index of the first sample on the shared time axis. */
  start: number;
  values: Float32Array;
  dashed?: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function plotSvg(series: PlotSeries[], title: string, width = 1200, height = 360): string {
  const pad = { l: 50, r: 20, t: 36, b: 30 };
  const all = series.filter((s) => s.values.length > 0);
  const t0 = Math.min(...all.map((s) => s.start));
  const t1 = Math.max(...all.map((s) => s.start + s.values.length - 1));
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of all) {
    for (const v of s.values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const X = (t: number) => pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (width - pad.l - pad.r);
  const Y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (height - pad.t - pad.b);
  const lines = all.map((s) => {
    // Thin to at most ~4 points per pixel column so that long runs stay light.
    const stride = Math.max(1, Math.floor(s.values.length / (4 * width)));
    const pts: string[] = [];
    for (let i = 0; i < s.values.length; i += stride) pts.push(`${X(s.start + i).toFixed(1)},${Y(s.values[i]).toFixed(1)}`);
    return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''} points="${pts.join(' ')}"><title>${escapeXml(s.label)}</title></polyline>`;
  });
  const legend = all.map((s, i) => `<text x="${pad.l + i * 160}" y="22" fill="${s.color}" font-size="13">■ ${escapeXml(s.label)}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width - pad.r}" y="22" text-anchor="end" font-size="13" fill="#333">${escapeXml(title)}</text>`,
    ...legend,
    `<line x1="${pad.l}" y1="${Y(0)}" x2="${width - pad.r}" y2="${Y(0)}" stroke="#ccc"/>`,
    `<text x="${pad.l - 6}" y="${Y(hi) + 4}" text-anchor="end" font-size="11">${hi.toFixed(2)}</text>`,
    `<text x="${pad.l - 6}" y="${Y(lo) + 4}" text-anchor="end" font-size="11">${lo.toFixed(2)}</text>`,
    `<text x="${pad.l}" y="${height - 8}" font-size="11">${t0}</text>`,
    `<text x="${width - pad.r}" y="${height - 8}" text-anchor="end" font-size="11">${t1}</text>`,
    ...lines,
    `</svg>`,
  ].join('\n');
}
