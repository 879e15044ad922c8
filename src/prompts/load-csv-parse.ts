import { lazyPackage } from '../util/lazy-package.js';

/**
 * csv-parse, loaded the first time a CSV or TSV table is read (a template × table job): the other
 * jobs no longer load its ten modules at start (~14 ms, ~2.5 MB).
 */
export const loadCsvParse = lazyPackage<typeof import('csv-parse')>('csv-parse');
