import fs from 'node:fs';
import path from 'node:path';

// The size of a prepared dataset, from the data-quality report `kb finetune prepare` writes: the
// planner turns it into time and cost (`kb finetune plan`, run creation, the search budget).

/** The dataset report to size a plan from: <dir>/report.json, else the newest <dir>/*\/report.json. */
export function findDatasetReport(dir: string): string | null {
  const direct = path.join(dir, 'report.json');
  if (fs.existsSync(direct)) return direct;
  if (!fs.existsSync(dir)) return null;
  const candidates = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'report.json')))
    .map((d) => path.join(dir, d.name, 'report.json'))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return candidates[0] ?? null;
}

/** Token totals of the training split ({ total, max }), or null without a readable report. */
export function trainSplitTokens(dir: string): { total?: number; max?: number; count?: number } | null {
  const report = findDatasetReport(dir);
  if (!report) return null;
  try {
    return (JSON.parse(fs.readFileSync(report, 'utf8')) as { tokens?: { train?: { total?: number; max?: number; count?: number } } }).tokens?.train ?? null;
  } catch {
    return null;
  }
}
