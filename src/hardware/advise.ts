import { checkStringArray, checkWholeNumber } from '../util/check-option.js';
import { estimateModelMemory } from '../models/estimate-model-memory.js';
import { formatGiB } from '../util/format-gib.js';
import { hardwareFingerprint } from './hardware-fingerprint.js';
import type { HardwareSummary } from './hardware-summary.js';
import { cpuSlotCap, explainPool, modelPools, ramPool } from './memory-pools.js';
import type { ModelProfile } from './model-profile.js';
import type { MemoryPool, ModelPlacement, OptimizationPlan } from './optimization-plan.js';
import { placeModels, type Placement } from './place-models.js';
import { planCommands } from './plan-commands.js';

export interface AdviseOptions {
  /** Context per slot wanted, in tokens; each model's trained context caps it (`--ctx`: the settings table holds its default). */
  readonly contextSize: number;
  /** Prompt inputs shown in the `batch run` command. @default ['PROMPTS'] */
  readonly inputs?: readonly string[];
}

/**
 * The model planned for when none is given: a Llama-3-8B-shaped model at 4-bit (Q4_K_M), the
 * most common local batch model. 32 layers, 8 KV heads of 128 → 2 × 32 × 8 × 128 × 2 = 131072
 * KV bytes per token.
 */
export const ASSUMED_MODEL: ModelProfile = {
  id: 'assumed-8b-q4',
  path: 'MODEL.gguf',
  fileBytes: 4_920_000_000,
  weightBytes: 4_920_000_000,
  parameterCount: 8_030_000_000,
  layers: 32,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  trainedContext: 8192,
  kvBytesPerToken: 131_072,
};

/** Copies of the assumed model worth keeping resident when the real models are unknown. */
const MAX_ASSUMED_MODELS = 4;

const gib = formatGiB;

/** Up to this many physical cores, one is left out of llama.cpp's threads. */
const SMALL_MACHINE_CORES = 4;

/**
 * Plans servers and `batch run` settings for `models` on `hardware`. Pure and deterministic: the
 * same summaries always give the same plan, and nothing on this machine is read.
 */
export function advise(hardware: HardwareSummary, models: readonly ModelProfile[], options: AdviseOptions): OptimizationPlan {
  const requested = checkWholeNumber('contextSize', options.contextSize, 16);
  const inputs = checkStringArray('inputs', options.inputs ?? ['PROMPTS']);
  const modelsGiven = models.length > 0;
  const planned = modelsGiven ? models : [ASSUMED_MODEL];
  const reasons: string[] = [];
  const warnings: string[] = [];

  const pools = modelPools(hardware);
  const ram = pools[0]?.kind === 'ram' ? pools[0] : ramPool(hardware);
  for (const pool of pools) reasons.push(explainPool(pool, hardware));
  if (pools[0]?.kind === 'ram') reasons.push(`no GPU: models run on the CPU from RAM`);
  else if (pools[0]?.kind === 'gpu') reasons.push(explainPool(ram, hardware) + ' (for layers that do not fit on a GPU)');

  const contextSize = Math.min(requested, ...planned.map((model) => (model.trainedContext > 0 ? model.trainedContext : requested)));
  reasons.push(
    contextSize < requested
      ? `--ctx ${contextSize}: the requested ${requested} tokens per slot, capped by the smallest trained context among the models`
      : `--ctx ${contextSize}: tokens per slot (raise it with batch optimize --ctx N when prompts plus answers are longer)`,
  );

  const placements = placeModels(planned, pools, contextSize);
  const shaped = new Map<ModelProfile, ModelPlacement>();
  for (const placement of placements) {
    shaped.set(placement.profile, shapeModel(placement, placements, pools, ram, hardware, contextSize, reasons, warnings));
  }
  const placed = planned.map((model) => shaped.get(model)!);

  // The run's settings are shaped by the models it can start: one that does not fit has no say.
  const fitting = placed.filter((model) => model.fits);
  const shaping = fitting.length > 0 ? fitting : placed;
  const slots = Math.min(...shaping.map((model) => model.slots));
  reasons.push(
    shaping.length > 1
      ? `--slots ${slots}: the smallest of the models' slots (${shaping.map((m) => `${m.model} ${m.slots}`).join(', ')}), since the flag applies to every managed server`
      : `--slots ${slots}: parallel sequences of the server (llama-server -np)`,
  );
  const workers = slots;
  reasons.push(`--workers ${workers}: one request in flight per slot; more would only queue inside the server`);

  const maxModels = modelsGiven ? coResidentModels(placed, reasons) : assumedModelsThatFit(pools, slots, contextSize, reasons);
  const threads = llamaThreads(hardware.cpu.physicalCores, reasons);

  const partial = shaping.filter((model) => model.pool === 'gpu' && !model.fullOffload);
  const gpuLayers = partial.length === 0 ? undefined : Math.min(...partial.map((model) => model.gpuLayers));
  if (gpuLayers !== undefined) reasons.push(`--gpu-layers ${gpuLayers}: the layers that fit on the GPU (the flag applies to every managed server)`);
  reasons.push('llama-server -c is slots × ctx: llama-server splits -c across its -np slots, so each slot gets ctx tokens');

  // A model that does not fit is flagged, never started by a command the plan prints.
  const commands = fitting.length === 0 ? undefined : planCommands(fitting, hardware, { inputs, workers, maxModels, slots, contextSize, threads, gpuLayers, modelsGiven });
  return {
    ...(modelsGiven
      ? {}
      : {
          assumption: `no --model given: planned for a 4-bit (Q4_K_M) 8B Llama-3-shaped model, ${gib(ASSUMED_MODEL.fileBytes)} GiB of weights, 32 layers, ${ASSUMED_MODEL.kvBytesPerToken} KV bytes per token; pass --model to plan for yours`,
        }),
    hardwareFingerprint: hardwareFingerprint(hardware),
    pools,
    models: placed,
    workers,
    maxModels,
    slots,
    contextSize,
    threads,
    ...(gpuLayers === undefined ? {} : { gpuLayers }),
    warnings,
    reasons,
    ...(commands === undefined ? {} : { commands }),
  };
}

/** --max-models for the models given: those placed to stay loaded together. */
function coResidentModels(placed: readonly { readonly coResident: boolean }[], reasons: string[]): number {
  const resident = placed.filter((model) => model.coResident).length;
  const maxModels = Math.max(1, resident);
  reasons.push(
    resident === 0
      ? `--max-models ${maxModels}: none of the ${placed.length} model(s) fits in memory at once (see the warnings)`
      : `--max-models ${maxModels}: ${maxModels} of the ${placed.length} model(s) fit in memory at once`,
  );
  return maxModels;
}

/** --max-models with no model given: copies of the assumed model that fit the pools, at most MAX_ASSUMED_MODELS. */
function assumedModelsThatFit(pools: readonly MemoryPool[], slots: number, contextSize: number, reasons: string[]): number {
  const footprint = estimateModelMemory(ASSUMED_MODEL, { slots, contextSize }).totalBytes;
  const copies = pools.reduce((sum, pool) => sum + Math.floor(pool.usableBytes / footprint), 0);
  const maxModels = Math.min(MAX_ASSUMED_MODELS, Math.max(1, copies));
  reasons.push(`--max-models ${maxModels}: models of the assumed size (${gib(footprint)} GiB each with their KV cache) that fit at once, at most ${MAX_ASSUMED_MODELS}`);
  return maxModels;
}

/**
 * --threads: the physical cores, less one on a small machine. llama.cpp's threads spin-wait on
 * each other: on a small machine, one of them sharing a core with batch and the server's HTTP loop
 * costs more than it adds (measured on 2 cores: 1 thread generated 2.7x the tokens/s of 2). On
 * larger machines that core is noise.
 */
function llamaThreads(cores: number, reasons: string[]): number {
  const threads = cores <= SMALL_MACHINE_CORES ? Math.max(1, cores - 1) : cores;
  reasons.push(
    threads === cores
      ? `--threads ${threads}: the physical cores; more threads than cores slows llama.cpp down`
      : `--threads ${threads}: the physical cores less one, left to batch and the server's HTTP loop (on ${cores} cores a spinning llama.cpp thread that loses its core slows every token)`,
  );
  return threads;
}

/** Why a model that does not fit even with one slot gets no command. */
function explainMissingFit(profile: ModelProfile, pool: MemoryPool, need: { readonly minimumBytes: number; readonly slotBytes: number; readonly contextSize: number }, reasons: string[], warnings: string[]): void {
  warnings.push(
    `${profile.id} does not fit: it needs ${gib(need.minimumBytes)} GiB (weights ${gib(profile.fileBytes)} GiB + KV cache ${gib(need.slotBytes)} GiB for 1 slot × ${need.contextSize} tokens) ` +
      `but ${pool.name} has ${gib(pool.usableBytes)} GiB usable, so it would swap or fail to load; free memory, or use a smaller quantisation or a smaller --ctx, and plan again (no command starts it)`,
  );
  reasons.push(`${profile.id} does not fit ${pool.name}: even 1 slot needs ${gib(need.minimumBytes)} GiB, ${gib(pool.usableBytes)} GiB usable`);
}

function shapeModel(
  placement: Placement,
  all: readonly Placement[],
  pools: readonly MemoryPool[],
  ram: MemoryPool,
  hardware: HardwareSummary,
  contextSize: number,
  reasons: string[],
  warnings: string[],
): ModelPlacement {
  const { profile } = placement;
  const pool = pools[placement.poolIndex]!;
  // One slot: the least this model needs (the same estimate --memory-budget uses).
  const { kvCacheBytes: slotBytes, totalBytes: minimumBytes } = estimateModelMemory(profile, { slots: 1, contextSize });
  const base = {
    model: profile.id,
    ...(profile === ASSUMED_MODEL ? {} : { path: profile.path }),
    pool: pool.kind,
    ...(pool.gpuIndex === undefined ? {} : { gpuIndex: pool.gpuIndex }),
    poolName: pool.name,
    layers: profile.layers,
    coResident: placement.coResident,
    contextPerSlot: contextSize,
    weightsBytes: profile.fileBytes,
  };

  if (!placement.fits && pool.kind === 'gpu') {
    const slots = Math.min(pool.slotCap, cpuSlotCap(hardware.cpu.physicalCores));
    const { totalBytes } = estimateModelMemory(profile, { slots, contextSize });
    const layerBytes = profile.layers > 0 ? totalBytes / profile.layers : totalBytes;
    const gpuLayers = profile.layers > 0 ? Math.min(profile.layers - 1, Math.floor(pool.usableBytes / layerBytes)) : 0;
    const spillBytes = totalBytes - gpuLayers * layerBytes;
    // A model known only from a server's listing has no layer count to offload by.
    const offload =
      profile.layers > 0
        ? `partial offload of ${gpuLayers} of ${profile.layers} layers (-ngl ${gpuLayers}); the other ${profile.layers - gpuLayers} layers (${gib(spillBytes)} GiB) run on the CPU`
        : `about ${Math.floor((100 * pool.usableBytes) / totalBytes)}% of it fits on the GPU, its layer count is unknown (pass its .gguf with --model for an exact -ngl); the rest runs on the CPU`;
    warnings.push(
      `${profile.id} needs ${gib(minimumBytes)} GiB (weights ${gib(profile.fileBytes)} GiB + KV cache ${gib(slotBytes)} GiB for 1 slot × ${contextSize} tokens) ` +
        `but ${pool.name} has ${gib(pool.usableBytes)} GiB usable: ${offload}, expect generation several times slower; a smaller quantisation would fit entirely`,
    );
    const fits = spillBytes <= ram.usableBytes;
    if (!fits) {
      warnings.push(
        `${profile.id} does not fit: the ${gib(spillBytes)} GiB left off the GPU exceed the ${gib(ram.usableBytes)} GiB of usable RAM, so it would swap or fail to load; ` +
          'free memory, or use a smaller quantisation or a smaller --ctx, and plan again (no command starts it)',
      );
    }
    reasons.push(
      `${profile.id} on ${pool.name}, partly: ${slots} slots (CPU-bound: physical cores / 2); ${gib(totalBytes)} GiB over ${profile.layers} layers = ${gib(layerBytes)} GiB per layer, ` +
        `floor(${gib(pool.usableBytes)} / ${gib(layerBytes)}) = ${gpuLayers} layers on the GPU`,
    );
    return { ...base, coResident: base.coResident && fits, fits, gpuLayers, fullOffload: false, slots, kvCacheBytes: estimateModelMemory(profile, { slots, contextSize }).kvCacheBytes };
  }

  if (!placement.fits) {
    explainMissingFit(profile, pool, { minimumBytes, slotBytes, contextSize }, reasons, warnings);
    return { ...base, coResident: false, fits: false, gpuLayers: pool.kind === 'ram' ? 0 : profile.layers, fullOffload: pool.kind !== 'ram', slots: 1, kvCacheBytes: slotBytes };
  }

  const neighbours = placement.coResident ? all.filter((other) => other.coResident && other.poolIndex === placement.poolIndex) : [placement];
  const weightsHere = neighbours.reduce((sum, other) => sum + other.profile.fileBytes, 0);
  const shareBytes = Math.floor((pool.usableBytes - weightsHere) / neighbours.length);
  const bySize = slotBytes > 0 ? Math.max(1, Math.floor(shareBytes / slotBytes)) : pool.slotCap;
  const slots = Math.min(pool.slotCap, bySize);
  const estimate = estimateModelMemory(profile, { slots, contextSize });
  const shareText = neighbours.length > 1 ? `(${gib(pool.usableBytes)} − ${gib(weightsHere)} GiB of weights) / ${neighbours.length} models = ${gib(shareBytes)} GiB` : `${gib(shareBytes)} GiB left after the weights`;
  reasons.push(
    `${profile.id} on ${pool.name}: weights ${gib(profile.fileBytes)} GiB + KV cache ${profile.kvBytesPerToken} B/token × ${contextSize} × ${slots} slots = ${gib(estimate.totalBytes)} GiB; ` +
      `slots = min(${pool.slotCap}, floor(${shareText} / ${gib(slotBytes)} GiB per slot) = ${bySize}) = ${slots}`,
  );
  if (!placement.coResident) {
    const others = all.filter((other) => other.poolIndex === placement.poolIndex && other !== placement).map((other) => other.profile.id);
    warnings.push(
      `${profile.id} fits ${pool.name} only alone: it is loaded in turn with ${others.join(', ') || 'the other models'}; batch orders prompts by model, so each swap happens once per model group`,
    );
  }
  const onGpu = pool.kind !== 'ram';
  return { ...base, fits: true, gpuLayers: onGpu ? profile.layers : 0, fullOffload: onGpu, slots, kvCacheBytes: estimate.kvCacheBytes };
}
