import type { HardwareSummary } from './hardware-summary.js';
import type { ModelPlacement, OptimizationPlan, PlanCommands } from './optimization-plan.js';

/** The plan's numbers, as the commands need them. */
export interface PlanCommandSettings extends Pick<OptimizationPlan, 'workers' | 'maxModels' | 'slots' | 'contextSize' | 'threads' | 'gpuLayers'> {
  readonly inputs: readonly string[];
  /** Whether the models are real files (`--model` flags) or the assumed one. */
  readonly modelsGiven: boolean;
}

/** First port of the `llama-server` commands; one more per model. */
const FIRST_PORT = 8080;
/** llama.cpp reads "more layers than the model has" as "all of them". */
const ALL_LAYERS = 999;

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * `batch run`, one `llama-server` per model and the Ollama environment that apply a plan.
 * llama-server's `-c` is the total context that it splits across its `-np` slots, so it is
 * slots × context per slot; Ollama's OLLAMA_CONTEXT_LENGTH is per sequence.
 */
export function planCommands(models: readonly ModelPlacement[], hardware: HardwareSummary, settings: PlanCommandSettings): PlanCommands {
  const run = ['batch', 'run', ...settings.inputs.map(quote)];
  if (settings.modelsGiven) for (const model of models) if (model.path !== undefined) run.push('--model', quote(model.path));
  run.push('--workers', String(settings.workers), '--max-models', String(settings.maxModels), '--slots', String(settings.slots), '--ctx', String(settings.contextSize), '--threads', String(settings.threads));
  if (settings.gpuLayers !== undefined) run.push('--gpu-layers', String(settings.gpuLayers));

  const pinDevices = hardware.gpus.length > 1 && hardware.gpus.every((gpu) => gpu.vendor === 'NVIDIA');
  const llamaServer = models.map((model, index) => {
    const parts: string[] = [];
    if (pinDevices && model.gpuIndex !== undefined) parts.push(`CUDA_VISIBLE_DEVICES=${model.gpuIndex}`);
    parts.push('llama-server', '-m', quote(model.path ?? 'MODEL.gguf'), '--host', '127.0.0.1', '--port', String(FIRST_PORT + index));
    parts.push('-np', String(model.slots), '-c', String(model.slots * model.contextPerSlot));
    parts.push('-ngl', String(model.pool === 'ram' ? 0 : model.fullOffload ? ALL_LAYERS : model.gpuLayers));
    parts.push('-t', String(settings.threads));
    return parts.join(' ');
  });

  const ollamaEnv = {
    OLLAMA_NUM_PARALLEL: String(settings.slots),
    OLLAMA_MAX_LOADED_MODELS: String(settings.maxModels),
    OLLAMA_CONTEXT_LENGTH: String(settings.contextSize),
  };
  const ollamaServe = `${Object.entries(ollamaEnv).map(([key, value]) => `${key}=${value}`).join(' ')} ollama serve`;
  return { batchRun: run.join(' '), llamaServer, ollamaEnv, ollamaServe };
}
