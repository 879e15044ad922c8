import { createRequire } from 'node:module';

type CsvParse = typeof import('csv-parse');

const requireCsvParse = createRequire(import.meta.url);
let csvParse: CsvParse | undefined;

/**
 * csv-parse, loaded the first time a CSV or TSV table is read (a template × table job): the other
 * jobs no longer load its ten modules at start (~14 ms, ~2.5 MB). Its CommonJS entry, so that
 * loading stays synchronous.
 */
export function loadCsvParse(): CsvParse {
  csvParse ??= requireCsvParse('csv-parse') as CsvParse;
  return csvParse;
}
