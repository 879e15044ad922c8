import { UsageError } from '../errors.js';
import { describeValue } from '../util/describe-value.js';
import type { CpuSummary, GpuSummary, HardwareSummary, MemorySummary, OsSummary } from './hardware-summary.js';

type Json = Record<string, unknown>;

/**
 * Validates a hardware profile (`--hardware profile.json`, e.g. the `hardware` of another
 * machine's `batch optimize --json`) into a HardwareSummary. `json` is the file's text or its
 * parsed value; `source` names it in messages. Optional fields get the probe's defaults:
 * `availableBytes` = `totalBytes`, `logicalCores` = `physicalCores`, `unifiedMemory` false, `notes` [].
 * Throws UsageError naming the field, the value seen and what was expected.
 */
export function parseHardwareProfile(json: unknown, source: string): HardwareSummary {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new UsageError(`${source}: expected a JSON hardware profile, got invalid JSON (${(error as Error).message}); write one with \`batch optimize --json\``);
    }
  }
  const root = object(value, '', source);
  const cpuJson = object(root.cpu, 'cpu', source);
  const memoryJson = object(root.memory, 'memory', source);
  if (!Array.isArray(root.gpus)) fail(source, 'gpus', 'an array ([] when there is no GPU)', root.gpus);

  const physicalCores = wholeNumber(cpuJson.physicalCores, 'cpu.physicalCores', source, 1);
  const cpu: CpuSummary = {
    brand: optionalString(cpuJson.brand, 'cpu.brand', source) ?? '',
    physicalCores,
    logicalCores: cpuJson.logicalCores === undefined ? physicalCores : wholeNumber(cpuJson.logicalCores, 'cpu.logicalCores', source, 1),
  };
  const totalBytes = bytes(memoryJson.totalBytes, 'memory.totalBytes', source, 1);
  const memory: MemorySummary = {
    totalBytes,
    availableBytes: memoryJson.availableBytes === undefined ? totalBytes : bytes(memoryJson.availableBytes, 'memory.availableBytes', source, 0),
  };
  const gpus = (root.gpus as unknown[]).map((gpu, index) => parseGpu(gpu, `gpus[${index}]`, source));
  if (root.unifiedMemory !== undefined && typeof root.unifiedMemory !== 'boolean') fail(source, 'unifiedMemory', 'a boolean', root.unifiedMemory);
  const osJson = root.os === undefined ? {} : object(root.os, 'os', source);
  const os: OsSummary = {
    platform: optionalString(osJson.platform, 'os.platform', source) ?? 'unknown',
    distro: optionalString(osJson.distro, 'os.distro', source) ?? 'unknown',
    release: optionalString(osJson.release, 'os.release', source) ?? 'unknown',
    arch: optionalString(osJson.arch, 'os.arch', source) ?? 'unknown',
  };
  if (root.notes !== undefined && !(Array.isArray(root.notes) && root.notes.every((note) => typeof note === 'string'))) {
    fail(source, 'notes', 'an array of strings', root.notes);
  }
  return { cpu, memory, gpus, unifiedMemory: root.unifiedMemory === true, os, notes: (root.notes as string[] | undefined) ?? [] };
}

function parseGpu(value: unknown, at: string, source: string): GpuSummary {
  const gpu = object(value, at, source);
  const optional = (key: string, min: number): Record<string, number> =>
    gpu[key] === undefined ? {} : { [key]: bytes(gpu[key], `${at}.${key}`, source, min) };
  return {
    vendor: optionalString(gpu.vendor, `${at}.vendor`, source) ?? 'unknown',
    model: optionalString(gpu.model, `${at}.model`, source) ?? 'unknown GPU',
    vramTotalBytes: bytes(gpu.vramTotalBytes, `${at}.vramTotalBytes`, source, 1),
    ...optional('vramUsedBytes', 0),
    ...optional('vramFreeBytes', 0),
    ...optional('utilizationPercent', 0),
    ...optional('temperatureC', -100),
  };
}

function fail(source: string, at: string, expected: string, seen: unknown): never {
  const field = at === '' ? 'the profile' : `\`${at}\``;
  throw new UsageError(`${source}: expected ${field} to be ${expected}, got ${describeValue(seen)}`);
}

function object(value: unknown, at: string, source: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(source, at, 'an object', value);
  return value as Json;
}

function optionalString(value: unknown, at: string, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(source, at, 'a string', value);
  return value;
}

function bytes(value: unknown, at: string, source: string, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(source, at, 'a number', value);
  if (value < min) fail(source, at, `a number >= ${min}`, value);
  return value;
}

function wholeNumber(value: unknown, at: string, source: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(source, at, 'a whole number', value);
  if (value < min) fail(source, at, `a whole number >= ${min}`, value);
  return value;
}
