// Public surface of the text toolkit: cleaning, dedupe, chunking, token counting, BM25 analysis.
export { normalizeText, collapseWhitespace, hashText } from './normalize.ts';
export { htmlToText, looksLikeHtml, decodeEntities } from './html.ts';
export {
  cleanDocument,
  compileBoilerplatePatterns,
  truncateText,
  type CleanOptions,
  type CleanResult,
  type CleanRejectReason,
} from './clean.ts';
export {
  MinHasher,
  DEFAULT_MINHASH_SEED,
  estimateJaccard,
  exactJaccard,
  bandHashes,
  shingles,
  shingleSource,
  murmur3,
  signatureToBuffer,
  signatureFromBuffer,
  type MinHashOptions,
} from './dedupe/minhash.ts';
export { splitParagraphs, splitSentences, type Span } from './sentences.ts';
export { chunkDocument, type Chunk, type ChunkOptions } from './chunk.ts';
export { estimateTokens, estimateTokenCounter, tokenizerCounter } from './tokens.ts';
export type { TokenCounter } from './tokens-types.ts';
export { analyze, analyzeForFts, ftsQuery, toSimplifiedChinese } from './analyzer.ts';
export { CHINESE_STOPWORDS, ENGLISH_STOPWORDS } from './stopwords.ts';
export { detectLanguage, type Language } from './language.ts';
