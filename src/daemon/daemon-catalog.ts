import { statSync } from 'node:fs';
import path from 'node:path';
import { ServerError } from '../errors.js';
import { ModelCatalog, type ModelCatalogOptions, type ResolvedModel } from '../servers/model-catalog.js';
import { modelFileStem } from '../servers/server-log.js';

/**
 * The models a daemon serves: those of `batch up --model`/`--models-dir`, and the files runs ask
 * it to load (`POST /batch/v1/load`), each under one id unique in the daemon. Runs name a model
 * by file, so two runs that use one file share its server whatever alias each gave it.
 */
export class DaemonCatalog {
  readonly #base: ModelCatalog;
  /** Files runs asked for that `batch up` did not name, by id. */
  readonly #added = new Map<string, ResolvedModel>();
  /** Every file resolved by its path so far: each request names its model's path, and is resolved without a stat. */
  readonly #byPath = new Map<string, ResolvedModel>();

  constructor(options: ModelCatalogOptions) {
    this.#base = new ModelCatalog(options);
  }

  /**
   * The model of `name` (undefined: the daemon's default, its first --model): an id, an alias or
   * file name it knows, or the absolute path of a GGUF file (what runs send, as they do to a
   * llama-server they start themselves), added when new. Throws MODEL_NOT_FOUND.
   */
  resolve(name: string | undefined): ResolvedModel {
    if (name !== undefined && name !== '') {
      const added = this.#added.get(name) ?? this.#byPath.get(name);
      if (added !== undefined) return added;
      if (path.isAbsolute(name)) return this.add(name);
    }
    try {
      return this.#base.resolve(name);
    } catch (error) {
      if (name === undefined || name === '') throw new ServerError('MODEL_NOT_FOUND', 'a request names no model and the daemon has no default; start it with `batch up --model path.gguf`, or name a model');
      throw new ServerError('MODEL_NOT_FOUND', `the daemon serves no model "${name}": ${(error as Error).message.replace(/; add --model .*$/, '')}; a run loads its own --model files in the daemon, or restart it with \`batch up --model\``);
    }
  }

  /**
   * The id under which the daemon serves the GGUF file at `file` (absolute), added when new: the
   * id of a model it knows by that file, else `preferred` (a run's alias), else the file's stem,
   * made unique with a suffix when another file holds that id.
   */
  add(file: string, preferred?: string): ResolvedModel {
    if (!path.isAbsolute(file)) throw new ServerError('MODEL_FILE_NOT_FOUND', `expected an absolute model path, got ${JSON.stringify(file)}`);
    if (!isRegularFile(file)) throw new ServerError('MODEL_FILE_NOT_FOUND', `no model file ${file} on the daemon's machine; pass the path of an existing .gguf file`);
    const known = this.#byPath.get(file) ?? this.list().find((model) => model.path === file);
    if (known !== undefined) {
      this.#byPath.set(file, known);
      return known;
    }
    const stem = preferred !== undefined && preferred !== '' ? preferred : modelFileStem(file);
    let id = stem;
    for (let n = 2; this.#taken(id); n++) id = `${stem}-${n}`;
    const model = { id, path: file };
    this.#added.set(id, model);
    this.#byPath.set(file, model);
    return model;
  }

  /** Every model it can serve now: `batch up --model` ones, the files of `--models-dir`, and those runs added. */
  list(): readonly ResolvedModel[] {
    return [...this.#base.list(), ...this.#added.values()];
  }

  #taken(id: string): boolean {
    if (this.#added.has(id)) return true;
    try {
      this.#base.resolve(id);
      return true;
    } catch {
      return false;
    }
  }
}

function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
