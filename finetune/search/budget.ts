import type { PlannerEstimate } from '../runs/repro.ts';

// The search's cost before it starts: trials × (training tokens + validation tokens) at the
// planner's tokens/s (measured on this model/method/GPU when a run recorded it, else its FLOP
// estimate), plus loading the base model once per trial. An upper bound: pruned trials stop early.

export interface SearchBudgetInput {
  planner: PlannerEstimate;
  pricePerHour: number | null;
  trials: number;
  stepBudget: number;
  /** Largest effective batch the space allows (samples per optimizer step). */
  maxEffectiveBatch: number;
  /** Mean tokens per training sample (the prepare report's train total / count). */
  tokensPerSample: number;
  valSamples: number;
  evalsPerTrial: number;
  /** Seconds to start a trial (load the base weights); a stated assumption, not a measurement. */
  loadSecondsPerTrial: number;
}

export interface SearchBudget {
  tokens: number;
  hours: number;
  cost: number | null;
  currency: string;
  tokens_per_s: number;
  throughput_source: string;
  assumptions: string[];
}

// A validation forward pass costs about a third of a training step's forward + backward.
const EVAL_COST_RATIO = 1 / 3;

export function estimateSearch(i: SearchBudgetInput): SearchBudget {
  const trainTokens = i.stepBudget * i.maxEffectiveBatch * i.tokensPerSample;
  const evalTokens = i.evalsPerTrial * i.valSamples * i.tokensPerSample * EVAL_COST_RATIO;
  const tokens = Math.round(i.trials * (trainTokens + evalTokens));
  const hours = tokens / i.planner.tokens_per_s / 3600 + (i.trials * i.loadSecondsPerTrial) / 3600;
  return {
    tokens,
    hours: Math.round(hours * 1000) / 1000,
    cost: i.pricePerHour == null ? null : Math.round(i.pricePerHour * hours * 100) / 100,
    currency: i.planner.currency,
    tokens_per_s: i.planner.tokens_per_s,
    throughput_source: i.planner.throughput_source,
    assumptions: [
      `${i.trials} trials × ${i.stepBudget} steps × effective batch ≤ ${i.maxEffectiveBatch} × ${Math.round(i.tokensPerSample)} tokens/sample`,
      `${i.evalsPerTrial} validations of ${i.valSamples} samples per trial (forward only, ~⅓ of a training step)`,
      `${i.planner.tokens_per_s} tokens/s on ${i.planner.gpu} (${i.planner.throughput_source}), ${i.loadSecondsPerTrial} s to load the model per trial`,
      'upper bound: pruned trials stop early',
    ],
  };
}

/** Why the search may not start, or null when it fits the limits. */
export function overBudget(b: SearchBudget, limits: { maxHours?: number; maxCost?: number }): string | null {
  const reasons: string[] = [];
  if (limits.maxHours != null && b.hours > limits.maxHours) reasons.push(`${b.hours} GPU-hours > --max-hours ${limits.maxHours}`);
  if (limits.maxCost != null && b.cost != null && b.cost > limits.maxCost) reasons.push(`${b.cost} ${b.currency} > --max-cost ${limits.maxCost}`);
  if (limits.maxCost != null && b.cost == null) reasons.push('--max-cost given but the GPU has no price in finetune.planner.gpu_prices_per_hour');
  return reasons.length ? reasons.join('; ') : null;
}
