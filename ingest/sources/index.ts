import fs from 'node:fs';
import path from 'node:path';
import type { SourceConfig } from '../../src/config/index.ts';
import { CsvReader } from './csv.ts';
import { FolderReader } from './folder.ts';
import { JsonArrayReader } from './json.ts';
import { JsonlReader } from './jsonl.ts';
import type { SourceReader } from './types.ts';
import type { FilesConfig } from '../../src/config/sections/files.ts';
import { UPLOADS_SOURCE, UploadsReader } from './uploads.ts';

export type { SourceItem, SourceReader, SourceRecord } from './types.ts';
export { mapRecord, parseDate, parseList, getField } from './mapping.ts';
export { CsvReader, FolderReader, JsonArrayReader, JsonlReader };

/** The absolute path of a source: relative paths resolve against the data folder. */
export function sourcePath(config: SourceConfig, dataDir: string): string {
  return path.resolve(dataDir, config.path);
}

/**
 * Opens a configured source for reading. Throws a clear error when its path is missing or is the
 * wrong kind of thing (a folder for a file source, or the reverse), so a run fails loudly instead
 * of treating an unreachable source as empty — which in `full` mode would delete its documents.
 */
export function openSource(config: SourceConfig, dataDir: string, files?: FilesConfig): SourceReader {
  const abs = sourcePath(config, dataDir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`;
    throw new Error(`source "${config.name}": ${config.type} path ${abs} ${why}`);
  }
  if (config.type === 'folder') {
    if (!stat.isDirectory()) throw new Error(`source "${config.name}": folder path ${abs} is not a folder`);
    // The managed uploads source (added by resolveSources; the name is reserved) applies each upload's metadata.
    if (config.name === UPLOADS_SOURCE) return new UploadsReader(abs, config, files);
    return new FolderReader(abs, config, files);
  }
  if (!stat.isFile()) throw new Error(`source "${config.name}": ${config.type} path ${abs} is not a file`);
  switch (config.type) {
    case 'jsonl':
      return new JsonlReader(abs, config);
    case 'csv':
      return new CsvReader(abs, config);
    case 'json':
      return new JsonArrayReader(abs, config);
    default: {
      const unknownType: never = config.type;
      throw new Error(`source "${config.name}": unknown type ${String(unknownType)}`);
    }
  }
}
