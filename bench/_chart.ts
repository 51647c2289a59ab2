/**
 * A small SVG chart of latency percentiles, written next to RESULTS.md: one line per series,
 * percentiles on the x axis, milliseconds on a log scale.
 *
 * @module
 */

/** One line: a name and its latency at each percentile. */
export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders the chart; `labels` name the percentiles (p50, p99, …). */
export function latencyChart(title: string, labels: readonly string[], series: readonly Series[]) {
  const width = 720, height = 400, left = 70, right = 230, top = 40, bottom = 50;
  const plotW = width - left - right, plotH = height - top - bottom;
  const all = series.flatMap((s) => s.values).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, 10))));
  const x = (i: number) =>
    left + (labels.length === 1 ? plotW / 2 : (i * plotW) / (labels.length - 1));
  const y = (v: number) =>
    top + plotH -
    ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let d = lo; d <= hi; d *= 10) {
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`,
      `<text x="${left - 8}" y="${y(d) + 4}" text-anchor="end">${d} ms</text>`,
    );
  }
  labels.forEach((label, i) =>
    parts.push(
      `<text x="${x(i)}" y="${top + plotH + 20}" text-anchor="middle">${escape(label)}</text>`,
    )
  );
  parts.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${
      top + plotH
    }" stroke="#333"/>`,
  );
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`);
    s.values.forEach((v, i) =>
      parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`)
    );
    const ly = top + 10 + k * 20;
    parts.push(
      `<line x1="${left + plotW + 15}" x2="${
        left + plotW + 35
      }" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${left + plotW + 40}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
