// Does a question ask about time ("the latest …", "最近…", a date)? Only such questions get the
// recency preference: for any other question, demoting an older but better-matching passage is a
// relevance loss (issue 12: an exact-title query put its own news article at position 9 because
// recency outweighed the small spread of fused scores).

// Chinese words that ask for what is new or current, or name a relative period.
const ZH = /最近|最新|近期|近日|近来|日前|新近|目前|当前|眼下|现在|如今|刚刚|今天|昨天|前天|今日|昨日|本周|上周|这周|本月|上月|上个月|这个月|今年|去年|前年|本季度|上季度|今年以来|年初|年底|月初|月底/;
// A date: 2024年, 3月5日, 2024-03, 2024/03/05, 3/5/2024.
const DATE = /\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\b\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?\b|\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/;
const EN =
  /\b(?:latest|newest|recent|recently|lately|current|currently|nowadays|today|tonight|yesterday|upcoming|so far|as of|up to date|this (?:week|month|year|quarter)|last (?:week|month|year|quarter)|past (?:week|month|year|few (?:days|weeks|months))|(?:19|20)\d\d)\b/i;
const MONTH_YEAR = /\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(?:\d{1,2},?\s+)?\d{4}\b/i;

export function isTimeSensitive(query: string): boolean {
  const q = query.normalize('NFKC');
  return ZH.test(q) || DATE.test(q) || EN.test(q) || MONTH_YEAR.test(q);
}
