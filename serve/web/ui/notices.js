import { t } from './i18n.js';

// What an answer's `kb` block says about degraded service, as sentences for the reader.

/** Degraded states in words (kb.degraded entries look like "dense: embedding model unavailable"). */
export function notices(kb) {
  const out = [];
  if (!kb) return out;
  // An unavailable model explains the extractive answer by itself (below); otherwise say why it is extractive.
  const generatorDown = (kb.degraded ?? []).some((d) => String(d).startsWith('generator'));
  if (kb.mode === 'extractive' && !generatorDown) out.push({ tone: 'warn', text: t('modeExtractive') });
  for (const d of kb.degraded ?? []) {
    const [leg, ...rest] = String(d).split(':');
    const why = rest.join(':').trim();
    if (leg === 'dense') out.push({ tone: 'warn', text: t('degradedBm25') + (why ? ` (${why})` : '') });
    else if (leg === 'bm25') out.push({ tone: 'warn', text: t('degradedDense') + (why ? ` (${why})` : '') });
    else if (leg === 'generator') out.push({ tone: 'bad', text: t('degradedUpstream', { why }) });
    else out.push({ tone: 'warn', text: t('degradedOther', { what: d }) });
  }
  if (kb.fallback === 'base-model') out.push({ tone: 'warn', text: t('fallbackBase') });
  return out;
}
