// Quarantine reason codes in words, for the console and API clients (English; the console has
// its own Chinese wording for these codes in serve/web/ui/i18n.js).

const REASONS: Record<string, string> = {
  invalid_json: 'The line is not valid JSON.',
  invalid_csv_row: 'The CSV row could not be parsed (wrong number of fields or broken quoting).',
  missing_id: 'The record has no id in the field the source mapping names.',
  missing_body: 'The record has no body text.',
  invalid_date: 'The published date could not be read as a date.',
  too_short: 'After cleaning, the text is shorter than cleaning.min_chars.',
  exact_duplicate: 'The same text is already stored under another document.',
  near_duplicate: 'The text is nearly identical (MinHash similarity above dedupe.threshold) to a stored document.',
  duplicate_id: 'Another record of the same source in this run has the same id.',
  unsupported_file: 'The folder source does not read files of this type.',
  unreadable_file: 'The file could not be read from disk.',
  invalid_encoding: 'The file is not UTF-8 text.',
  invalid_front_matter: 'The Markdown front matter is not valid YAML.',
  invalid_upload: 'The upload has no valid metadata (.upload.json), so its access groups are unknown; it was not ingested.',
  not_an_object: 'The record is not a JSON object.',
};

export function describeReason(code: string): string {
  return REASONS[code] ?? `Rejected by ingestion (${code}).`;
}
