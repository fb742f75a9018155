// A uPlot line chart that says what it shows: labelled axes with units, tick labels that are real
// values (a log axis never reads "0"), readouts that name the series and the x value, optional
// horizontal reference lines, and a caption that is the chart's text alternative.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  dash?: number[];
  points?: boolean;
  /** Line width in CSS pixels (1.5 unless set). */
  width?: number;
}

/** A horizontal line across the plot at `value` (a reference such as the noise floor). */
export interface ReferenceLine {
  label: string;
  value: number;
  color: string;
}

export interface LineChartProps {
  /** [x, y1, y2, ...], each the same length; null for a gap. */
  data: (number | null)[][];
  series: Series[];
  references?: ReferenceLine[];
  logY?: boolean;
  height?: number;
  /** The x axis's name with its unit, e.g. "epoch" or "time (s)". */
  xLabel: string;
  yLabel?: string;
  /** The chart in words: its text alternative, also shown as a caption. */
  summary: string;
  testId: string;
}

/** A value as a tick or readout shows it: 4 significant digits, exponent form when tiny or huge. */
export function formatValue(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(Math.max(0, digits - 2));
  return String(Number(v.toPrecision(digits)));
}

/** Log-axis tick labels: 1e-4, 0.001, 0.01, 0.1, 1, 10 ... never "0". */
export function formatLogTick(v: number): string {
  if (!(v > 0)) return '';
  const e = Math.round(Math.log10(v));
  if (Math.abs(v - 10 ** e) / v < 1e-6) return e < -2 || e > 5 ? `1e${e}` : String(Number((10 ** e).toPrecision(1)));
  return formatValue(v, 2);
}

export function LineChart({ data, series, references = [], logY, height = 220, xLabel, yLabel, summary, testId }: LineChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = [...series.map((s) => s.label + s.color), ...references.map((r) => r.label), String(logY), xLabel, yLabel].join('|');

  const withRefs = (d: (number | null)[][]): uPlot.AlignedData => {
    if (!references.length) return d as uPlot.AlignedData;
    const n = d[0]?.length ?? 0;
    return [...d, ...references.map((r) => new Array<number>(n).fill(r.value))] as uPlot.AlignedData;
  };

  useEffect(() => {
    if (!box.current) return;
    const width = box.current.clientWidth || 600;
    const readout = (_u: uPlot, v: number | null) => formatValue(v);
    const p = new uPlot(
      {
        width,
        height,
        scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
        axes: [
          { label: xLabel, values: (_u, splits) => splits.map((v) => formatValue(v, 3)) },
          { label: yLabel, size: 60, values: (_u, splits) => splits.map((v) => (logY ? formatLogTick(v) : formatValue(v, 3))) },
        ],
        series: [
          { label: xLabel, value: readout },
          ...series.map((s) => ({ label: s.label, stroke: s.color, dash: s.dash, width: s.width ?? 1.5, points: { show: s.points ?? false }, spanGaps: true, value: readout })),
          ...references.map((r) => ({ label: r.label, stroke: r.color, dash: [6, 4], width: 1, points: { show: false }, value: () => formatValue(r.value) })),
        ],
        legend: { show: true },
      },
      withRefs(data),
      box.current,
    );
    plot.current = p;
    const ro = new ResizeObserver(() => p.setSize({ width: box.current?.clientWidth || width, height }));
    ro.observe(box.current);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change; data updates go through setData below.
  }, [key, height]);

  useEffect(() => {
    plot.current?.setData(withRefs(data));
  }, [data, key]);

  return (
    <figure className="chart-figure" aria-label={summary}>
      <div ref={box} className="chart" role="img" aria-label={summary} data-testid={testId} data-points={data[0]?.length ?? 0} />
      <figcaption className="hint chart-caption" data-testid={`${testId}-caption`}>
        {summary}
      </figcaption>
    </figure>
  );
}
