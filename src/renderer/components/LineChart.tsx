// A uPlot line chart: one x axis, several series, optional log-scale y.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  dash?: number[];
  points?: boolean;
}

export interface LineChartProps {
  /** [x, y1, y2, ...], each the same length; null for a gap. */
  data: (number | null)[][];
  series: Series[];
  logY?: boolean;
  height?: number;
  xLabel: string;
  testId: string;
}

export function LineChart({ data, series, logY, height = 220, xLabel, testId }: LineChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('|') + String(logY);

  useEffect(() => {
    if (!box.current) return;
    const width = box.current.clientWidth || 600;
    const p = new uPlot(
      {
        width,
        height,
        scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
        axes: [{ label: xLabel }, {}],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, dash: s.dash, width: 1.5, points: { show: s.points ?? false }, spanGaps: true }))],
        legend: { show: true },
      },
      data as uPlot.AlignedData,
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
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return <div ref={box} className="chart" data-testid={testId} data-points={data[0]?.length ?? 0} />;
}
