import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { ServerError, UsageError } from '../errors.js';
import { parseModelOption } from '../models/parse-model-option.js';
import { checkStringArray } from '../util/check-option.js';
import { modelFileStem } from './server-log.js';
import { isFile } from '../util/is-file.js';

/** Where the model names that prompts use are looked up. */
export interface ModelCatalogOptions {
  /**
   * The `--model` values, in order: `path.gguf` or `alias=path.gguf`. The first is the default
   * model of prompts that name none. @default []
   */
  readonly models?: readonly string[];
  /** `--models-dir`: a name matches `DIR/name`, `DIR/name.gguf`, or a .gguf file below DIR named `name`. @default undefined */
  readonly modelsDir?: string;
  /** Folder relative paths are resolved against. @default process.cwd() */
  readonly cwd?: string;
}

/** A model name resolved to its file. */
export interface ResolvedModel {
  /** The canonical id: the alias when one was given, else the file name without `.gguf`. */
  readonly id: string;
  /** Absolute path of the GGUF file; two names of one file resolve to the same path. */
  readonly path: string;
}

interface ExplicitModel extends ResolvedModel {
  /** As the user typed it, for messages. */
  readonly given: string;
  readonly names: readonly string[];
}

/**
 * Resolves the model names prompts use to GGUF files. Lookups are cached: a name is searched for
 * once per run.
 */
export class ModelCatalog {
  readonly #explicit: readonly ExplicitModel[];
  readonly #modelsDir: string | undefined;
  readonly #givenDir: string | undefined;
  readonly #cache = new Map<string, ResolvedModel>();
  #dirFiles: readonly string[] | undefined;

  constructor(options: ModelCatalogOptions = {}) {
    const cwd = options.cwd ?? process.cwd();
    const models = options.models ?? [];
    checkStringArray('models', models);
    this.#explicit = models.map((value) => explicitModel(value, cwd));
    if (options.modelsDir !== undefined) {
      const dir = resolve(cwd, options.modelsDir);
      if (!isDirectory(dir)) throw new UsageError(`--models-dir ${options.modelsDir}: expected a folder, got ${isFile(dir) ? 'a file' : 'no such folder'}; pass the folder that holds your .gguf files`);
      this.#modelsDir = dir;
      this.#givenDir = options.modelsDir;
    }
  }

  /** The default model (first --model), if any. */
  get defaultModel(): ResolvedModel | undefined {
    const first = this.#explicit[0];
    return first === undefined ? undefined : { id: first.id, path: first.path };
  }

  /**
   * The file of `name` (undefined: the default model). Throws ServerError MODEL_NOT_FOUND when
   * there is none; the caller fails only that model's prompts.
   */
  resolve(name: string | undefined): ResolvedModel {
    if (name === undefined || name === '') {
      const fallback = this.defaultModel;
      if (fallback !== undefined) return fallback;
      throw new ServerError('MODEL_NOT_FOUND', `a prompt names no model and no default is set; add --model path/to/model.gguf (the first --model is the default)`);
    }
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    const found = this.#find(name);
    if (found === undefined) throw new ServerError('MODEL_NOT_FOUND', this.#notFoundMessage(name));
    this.#cache.set(name, found);
    return found;
  }

  /** The `--model` files, then every .gguf file below `--models-dir` not among them. */
  list(): readonly ResolvedModel[] {
    const explicit = this.#explicit.map((model) => ({ id: model.id, path: model.path }));
    if (this.#modelsDir === undefined) return explicit;
    this.#dirFiles ??= listGgufFiles(this.#modelsDir);
    const named = new Set(explicit.map((model) => model.path));
    return [...explicit, ...this.#dirFiles.filter((file) => !named.has(file)).map((file) => ({ id: modelFileStem(file), path: file }))];
  }

  #find(name: string): ResolvedModel | undefined {
    for (const model of this.#explicit) {
      if (model.names.includes(name)) return { id: model.id, path: model.path };
    }
    const dir = this.#modelsDir;
    if (dir === undefined) return undefined;
    for (const candidate of [join(dir, name), join(dir, `${name}.gguf`)]) {
      // A name must not climb out of the folder (`../x`).
      if (candidate.startsWith(dir + sep) && isFile(candidate)) return { id: modelFileStem(candidate), path: candidate };
    }
    this.#dirFiles ??= listGgufFiles(dir);
    const match = this.#dirFiles.find((file) => modelFileStem(file) === name);
    return match === undefined ? undefined : { id: name, path: match };
  }

  #notFoundMessage(name: string): string {
    const places: string[] = [];
    if (this.#explicit.length > 0) places.push(`--model ${this.#explicit.map((model) => model.given).join(', ')}`);
    if (this.#givenDir !== undefined) places.push(`in --models-dir ${this.#givenDir}`);
    const where = places.length === 0 ? 'but no --model or --models-dir was given' : `which is not among ${places.join(' or ')}`;
    return `prompt asks for model "${name}", ${where}; add --model path/to/${name}.gguf`;
  }
}

function explicitModel(value: string, cwd: string): ExplicitModel {
  const { alias, path } = parseModelOption(value, cwd);
  if (!isFile(path)) {
    throw new ServerError('MODEL_FILE_NOT_FOUND', `--model ${value}: ${notAFile(path)}; pass the path of an existing .gguf file`);
  }
  const given = alias === undefined ? value : value.slice(alias.length + 1);
  const stem = modelFileStem(path);
  const names = [stem, basename(path), given, path];
  if (alias !== undefined) names.unshift(alias);
  return { id: alias ?? stem, path, given, names };
}

/** Why `path` is no model file: missing, a folder, or something else (a device, a FIFO). */
function notAFile(path: string): string {
  try {
    return statSync(path).isDirectory() ? `${path} is a folder, not a file` : `${path} is not a regular file`;
  } catch {
    return `no such file ${path}`;
  }
}

function listGgufFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((entry) => /\.gguf$/i.test(entry))
      .map((entry) => join(dir, entry))
      .filter(isFile)
      .sort();
  } catch {
    return [];
  }
}


function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
