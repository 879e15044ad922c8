import type { HardwareSummary } from './hardware-summary.js';
import type { OptimizationPlan } from './optimization-plan.js';
import type { ModelProfile } from './model-profile.js';
import { formatTable } from './format-table.js';
import { formatGiB } from '../util/format-gib.js';

const gib = (bytes: number): string => `${formatGiB(bytes)} GiB`;

/** The machine in a few lines: what the plan is based on. */
export function formatHardware(hardware: HardwareSummary): string {
  const lines = [
    `CPU     ${hardware.cpu.brand || 'unknown'}: ${hardware.cpu.physicalCores} physical cores, ${hardware.cpu.logicalCores} logical`,
    `Memory  ${gib(hardware.memory.totalBytes)} total, ${gib(hardware.memory.availableBytes)} available${hardware.unifiedMemory ? ' (unified with the GPU)' : ''}`,
  ];
  if (hardware.gpus.length === 0) lines.push('GPUs    none');
  hardware.gpus.forEach((gpu, index) => {
    const free = gpu.vramFreeBytes === undefined ? '' : `, ${gib(gpu.vramFreeBytes)} free`;
    const load = gpu.utilizationPercent === undefined ? '' : `, ${gpu.utilizationPercent}% busy`;
    const temperature = gpu.temperatureC === undefined ? '' : `, ${gpu.temperatureC} °C`;
    const name = gpu.model.toLowerCase().includes(gpu.vendor.toLowerCase()) ? gpu.model : `${gpu.vendor} ${gpu.model}`;
    lines.push(`GPU ${index}   ${name}: ${gib(gpu.vramTotalBytes)} VRAM${free}${load}${temperature}`);
  });
  lines.push(`OS      ${hardware.os.distro} ${hardware.os.release} (${hardware.os.platform}/${hardware.os.arch})`);
  for (const note of hardware.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/** What the GGUF headers say about each model: the numbers the plan is computed from. */
export function formatModels(models: readonly ModelProfile[]): string {
  const rows = models.map((m) => [
    m.id,
    m.parameterCount >= 1e9 ? `${(m.parameterCount / 1e9).toFixed(1)}B` : m.parameterCount >= 1e6 ? `${(m.parameterCount / 1e6).toFixed(1)}M` : String(m.parameterCount),
    gib(m.fileBytes),
    String(m.layers),
    String(m.heads),
    String(m.kvHeads),
    String(m.headDim),
    String(m.trainedContext),
    `${m.kvBytesPerToken} B`,
  ]);
  return formatTable(['model', 'params', 'file', 'layers', 'heads', 'kv heads', 'head dim', 'trained ctx', 'KV/token'], rows);
}

/** The plan as a reader sees it: models, settings, warnings, reasons and the commands to copy. */
export function formatPlan(plan: OptimizationPlan): string {
  const sections: string[] = [];
  if (plan.assumption !== undefined) sections.push(`Assumption: ${plan.assumption}`);
  sections.push(
    formatTable(
      ['model', 'where', 'GPU layers', 'slots', 'ctx/slot', 'weights', 'KV cache', 'resident'],
      plan.models.map((model) => [
        model.model,
        model.poolName,
        model.pool === 'ram' ? '0 (CPU)' : model.layers === 0 ? (model.fullOffload ? 'all' : 'partial') : `${model.gpuLayers}/${model.layers}${model.fullOffload ? '' : ' partial'}`,
        String(model.slots),
        String(model.contextPerSlot),
        gib(model.weightsBytes),
        gib(model.kvCacheBytes),
        !model.fits ? 'does not fit' : model.coResident ? 'yes' : 'in turn',
      ]),
    ),
  );
  const settings: string[][] = [
    ['--workers', String(plan.workers)],
    ['--max-models', String(plan.maxModels)],
    ['--slots', String(plan.slots)],
    ['--ctx', String(plan.contextSize)],
    ['--threads', String(plan.threads)],
  ];
  if (plan.gpuLayers !== undefined) settings.push(['--gpu-layers', String(plan.gpuLayers)]);
  sections.push(formatTable(['setting', 'value'], settings));
  if (plan.warnings.length > 0) sections.push(['Warnings:', ...plan.warnings.map((warning) => `  ! ${warning}`)].join('\n'));
  sections.push(['Why:', ...plan.reasons.map((reason) => `  - ${reason}`)].join('\n'));
  const unfit = plan.models.filter((model) => !model.fits).map((model) => model.model);
  if (plan.commands === undefined) {
    sections.push(`Commands: none: ${unfit.join(', ')} ${unfit.length === 1 ? 'does' : 'do'} not fit this machine's memory (see the warnings)`);
  } else {
    sections.push(
      [
        'Commands:',
        ...(unfit.length === 0 ? [] : [`  # without ${unfit.join(', ')}, which ${unfit.length === 1 ? 'does' : 'do'} not fit (see the warnings)`]),
        '  # batch with managed servers',
        `  ${plan.commands.batchRun}`,
        '  # or your own llama-server (-c is the total context, split across the -np slots)',
        ...plan.commands.llamaServer.map((command) => `  ${command}`),
        '  # or Ollama',
        `  ${plan.commands.ollamaServe}`,
      ].join('\n'),
    );
  }
  return `${sections.join('\n\n')}\n`;
}
