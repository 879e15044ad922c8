/** The llama-server flags the fake honours; every other flag is accepted and ignored. */
export interface LlamaServerArgs {
  readonly model: string | undefined;
  /** @default '127.0.0.1' */
  readonly host: string;
  /** @default 8080 */
  readonly port: number;
  /** Slots (`-np`). @default 1 */
  readonly parallel: number;
  /** Total context (`-c`); 0 means the model's trained context. @default 0 */
  readonly ctxSize: number;
  /** `-ngl`, accepted as a number or `auto`/`all`. */
  readonly gpuLayers: string | undefined;
}

const aliases: Record<string, 'model' | 'host' | 'port' | 'parallel' | 'ctxSize' | 'gpuLayers'> = {
  '-m': 'model',
  '--model': 'model',
  '--host': 'host',
  '--port': 'port',
  '-np': 'parallel',
  '--parallel': 'parallel',
  '-c': 'ctxSize',
  '--ctx-size': 'ctxSize',
  '-ngl': 'gpuLayers',
  '--gpu-layers': 'gpuLayers',
  '--n-gpu-layers': 'gpuLayers',
};

/** A token after a flag is its value unless it is itself a flag (a negative number is a value). */
const isValue = (token: string | undefined): token is string => token !== undefined && (!token.startsWith('-') || /^-\d/.test(token));

function integer(flag: string, value: string, min: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) throw new TypeError(`Expected \`${flag}\` to be an integer >= ${min}, got \`${value}\``);
  return number;
}

/** Reads argv as llama-server would, for the flags that matter to a simulation. */
export function parseLlamaServerArgs(argv: readonly string[]): LlamaServerArgs {
  const seen: Partial<Record<(typeof aliases)[string], string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('-')) continue;
    const equals = token.indexOf('=');
    const flag = equals === -1 ? token : token.slice(0, equals);
    let value: string | undefined;
    if (equals !== -1) value = token.slice(equals + 1);
    else if (isValue(argv[i + 1])) value = argv[++i];
    const key = aliases[flag];
    if (key === undefined) continue;
    if (value === undefined) throw new TypeError(`Expected a value after \`${flag}\`, got nothing`);
    seen[key] = value;
  }
  return {
    model: seen.model,
    host: seen.host ?? '127.0.0.1',
    port: seen.port === undefined ? 8080 : integer('--port', seen.port, 0),
    parallel: seen.parallel === undefined ? 1 : integer('-np', seen.parallel, 1),
    ctxSize: seen.ctxSize === undefined ? 0 : integer('-c', seen.ctxSize, 0),
    gpuLayers: seen.gpuLayers,
  };
}
