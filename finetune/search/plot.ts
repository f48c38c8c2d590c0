// The objective-vs-trial plot of a search as a standalone SVG (no plotting library: optuna's
// own plots need plotly or matplotlib, which the trainer environment does not install).

export interface PlotTrial {
  number: number;
  state: string;
  value: number | null;
  last_eval_loss: number | null;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (v: number) => (Math.abs(v) >= 100 || Math.abs(v) < 0.01 ? v.toExponential(1) : v.toFixed(3));

/** Completed trials as filled dots, pruned ones (at their last reported loss) as open circles, the best-so-far as a step line. */
export function objectivePlotSvg(trials: PlotTrial[], title: string, width = 720, height = 360): string {
  const points = trials
    .map((t) => ({ n: t.number, y: t.state === 'COMPLETE' ? t.value : t.state === 'PRUNED' ? t.last_eval_loss : null, state: t.state }))
    .filter((p): p is { n: number; y: number; state: string } => typeof p.y === 'number' && Number.isFinite(p.y));
  const m = { l: 64, r: 16, t: 32, b: 40 };
  const W = width - m.l - m.r;
  const H = height - m.t - m.b;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`, `<rect width="100%" height="100%" fill="white"/>`, `<text x="${m.l}" y="18" font-size="13">${esc(title)}</text>`];
  if (!points.length) {
    parts.push(`<text x="${m.l}" y="${m.t + H / 2}">no finished trial yet</text></svg>`);
    return parts.join('\n');
  }
  const maxN = Math.max(1, ...trials.map((t) => t.number));
  let lo = Math.min(...points.map((p) => p.y));
  let hi = Math.max(...points.map((p) => p.y));
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x = (n: number) => m.l + (n / maxN) * W;
  const y = (v: number) => m.t + H - ((v - lo) / (hi - lo)) * H;
  parts.push(`<line x1="${m.l}" y1="${m.t + H}" x2="${m.l + W}" y2="${m.t + H}" stroke="#333"/>`, `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + H}" stroke="#333"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    parts.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`, `<line x1="${m.l}" y1="${y(v)}" x2="${m.l + W}" y2="${y(v)}" stroke="#eee"/>`);
  }
  for (let i = 0; i <= Math.min(10, maxN); i++) {
    const n = Math.round((maxN * i) / Math.min(10, maxN));
    parts.push(`<text x="${x(n)}" y="${m.t + H + 16}" text-anchor="middle">${n}</text>`);
  }
  parts.push(`<text x="${m.l + W / 2}" y="${height - 6}" text-anchor="middle">trial</text>`, `<text x="14" y="${m.t + H / 2}" transform="rotate(-90 14 ${m.t + H / 2})" text-anchor="middle">validation loss</text>`);
  // Best so far over completed trials (the objective the study minimises).
  let best = Infinity;
  const path: string[] = [];
  for (const t of [...trials].sort((a, b) => a.number - b.number)) {
    if (t.state !== 'COMPLETE' || t.value == null) continue;
    if (t.value < best) {
      if (path.length) path.push(`L${x(t.number)},${y(best)}`);
      best = t.value;
      path.push(`${path.length ? 'L' : 'M'}${x(t.number)},${y(best)}`);
    }
  }
  if (path.length) parts.push(`<path d="${path.join(' ')} L${x(maxN)},${y(best)}" fill="none" stroke="#2a7" stroke-width="2"/>`);
  for (const p of points) {
    parts.push(
      p.state === 'COMPLETE'
        ? `<circle cx="${x(p.n)}" cy="${y(p.y)}" r="4" fill="#36c"><title>trial ${p.n}: ${p.y}</title></circle>`
        : `<circle cx="${x(p.n)}" cy="${y(p.y)}" r="4" fill="none" stroke="#c63"><title>trial ${p.n} (pruned): ${p.y}</title></circle>`,
    );
  }
  parts.push(`<text x="${m.l + W}" y="18" text-anchor="end"><tspan fill="#36c">● complete</tspan>  <tspan fill="#c63">○ pruned</tspan>  <tspan fill="#2a7">— best so far</tspan></text>`, '</svg>');
  return parts.join('\n');
}
