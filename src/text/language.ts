export type Language = 'zh' | 'en' | 'other';

const HAN = /\p{Script=Han}/u;
const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/u;
const LATIN = /\p{Script=Latin}/u;
const LETTER = /\p{L}/u;

/**
 * One Han character carries roughly as much content as a 4-letter stretch of English, so a
 * Chinese question with English brand names ("iPhone 15 Pro的价格是多少") is still Chinese.
 */
const HAN_WEIGHT = 4;
/** Japanese mixes Han with kana; this much kana (relative to Han + kana) means not Chinese. */
const KANA_SHARE_FOR_JAPANESE = 0.2;

/**
 * Language of a text by script share, used to answer in the user's language:
 * 'zh' when weighted Han characters outweigh Latin letters, 'en' when Latin letters are the
 * majority of letters, else 'other' (Japanese, Korean, Cyrillic, Arabic, no letters at all).
 */
export function detectLanguage(s: string): Language {
  let han = 0;
  let kana = 0;
  let latin = 0;
  let otherLetters = 0;
  for (const ch of s) {
    if (HAN.test(ch)) han++;
    else if (KANA.test(ch)) kana++;
    else if (LATIN.test(ch)) latin++;
    else if (LETTER.test(ch)) otherLetters++;
  }
  if (han + kana > 0 && kana / (han + kana) >= KANA_SHARE_FOR_JAPANESE) {
    return latin > (han + kana) * HAN_WEIGHT ? 'en' : 'other';
  }
  const hanScore = han * HAN_WEIGHT;
  if (han > 0 && hanScore >= latin && hanScore >= otherLetters) return 'zh';
  const letters = latin + otherLetters + han;
  if (latin > 0 && latin * 2 > letters) return 'en';
  return 'other';
}
