import path from 'node:path';

/** How a `--data` file is read: delimited text with a header, or one JSON object per line. */
export type DataFileKind = { readonly format: 'delimited'; readonly delimiter: ',' | '\t' } | { readonly format: 'jsonl' };

const KINDS: Readonly<Record<string, DataFileKind>> = {
  '.csv': { format: 'delimited', delimiter: ',' },
  '.tsv': { format: 'delimited', delimiter: '\t' },
  '.tab': { format: 'delimited', delimiter: '\t' },
  '.jsonl': { format: 'jsonl' },
  '.ndjson': { format: 'jsonl' },
};

/** The extensions `--data` reads, for messages. */
export const DATA_FILE_EXTENSIONS = Object.keys(KINDS);

/** The kind of a data file by its extension (case-insensitive), or undefined. */
export function dataFileKind(fileName: string): DataFileKind | undefined {
  return KINDS[path.extname(fileName).toLowerCase()];
}
