import { describe, expect, it } from 'vitest';
import { advise } from '../../src/hardware/advise.js';
import { formatPlan } from '../../src/hardware/format-plan.js';
import { hardwareFixture, modelFixture } from './fixtures.js';

const GIB = 2 ** 30;

describe('advise', () => {
  it('plans an assumed 8B 4-bit model on a CPU-only 8-core / 32 GiB machine', () => {
    const plan = advise(hardwareFixture('cpu-8c-32g.json'), [], { contextSize: 4096 });
    // RAM headroom = max(2 GiB, ceil(0.1 × 34359738368)) = 3435973837;
    // usable = 30064771072 available − 3435973837 = 26628797235.
    expect(plan.pools).toEqual([
      { kind: 'ram', name: 'RAM', totalBytes: 32 * GIB, headroomBytes: 3435973837, usableBytes: 26628797235, slotCap: 4 },
    ]);
    expect(plan.assumption).toMatch(/4-bit .*8B/);
    // ctx = min(4096 requested, 8192 trained) = 4096; one slot = 131072 × 4096 = 536870912 B.
    // slots = min(cap floor(8 / 2) = 4, floor((26628797235 − 4920000000) / 536870912) = 40) = 4.
    // K = floor(26628797235 / (4920000000 + 4 × 536870912 = 7067483648)) = 3.
    expect(plan).toMatchObject({ workers: 4, slots: 4, maxModels: 3, contextSize: 4096, threads: 8 });
    expect(plan.gpuLayers).toBeUndefined();
    expect(plan.models[0]).toMatchObject({ pool: 'ram', gpuLayers: 0, slots: 4, kvCacheBytes: 4 * 536870912 });
    expect(plan.commands.batchRun).toBe('batch run PROMPTS --workers 4 --max-models 3 --slots 4 --ctx 4096 --threads 8');
    // -c is slots × ctx = 4 × 4096, because llama-server splits it across slots.
    expect(plan.commands.llamaServer).toEqual(['llama-server -m MODEL.gguf --host 127.0.0.1 --port 8080 -np 4 -c 16384 -ngl 0 -t 8']);
    expect(plan.commands.ollamaEnv).toEqual({ OLLAMA_NUM_PARALLEL: '4', OLLAMA_MAX_LOADED_MODELS: '3', OLLAMA_CONTEXT_LENGTH: '4096' });
    expect(plan.warnings).toEqual([]);
    expect(plan.reasons.some((reason) => reason.includes('splits -c across'))).toBe(true);
  });

  it('puts an 8B Q4 model entirely on a 24 GB RTX 3090 with 16 slots', () => {
    const plan = advise(hardwareFixture('rtx3090.json'), [modelFixture('llama-8b-q4')], { contextSize: 4096 });
    // headroom = ceil(0.1 × 25769803776) = 2576980378; usable = 25232932864 free − 2576980378 = 22655952486.
    expect(plan.pools[0]).toMatchObject({ kind: 'gpu', gpuIndex: 0, usableBytes: 22655952486, slotCap: 16 });
    // slots = min(16 (≥ 16 GB), floor((22655952486 − 4920734016) / 536870912) = 33) = 16.
    expect(plan).toMatchObject({ workers: 16, slots: 16, maxModels: 1, contextSize: 4096, threads: 16 });
    expect(plan.assumption).toBeUndefined();
    expect(plan.models[0]).toMatchObject({ model: 'llama-8b-q4', pool: 'gpu', gpuIndex: 0, fullOffload: true, gpuLayers: 32, layers: 32 });
    expect(plan.commands.llamaServer).toEqual(['llama-server -m /models/llama-8b-q4.gguf --host 127.0.0.1 --port 8080 -np 16 -c 65536 -ngl 999 -t 16']);
    expect(plan.commands.batchRun).toBe('batch run PROMPTS --model /models/llama-8b-q4.gguf --workers 16 --max-models 1 --slots 16 --ctx 4096 --threads 16');
    expect(plan.warnings).toEqual([]);
  });

  it('spreads two models over two 80 GB A100s, biggest first', () => {
    const plan = advise(hardwareFixture('a100x2.json'), [modelFixture('qwen-32b-q4'), modelFixture('llama-70b-q4')], { contextSize: 4096, inputs: ['prompts/'] });
    // usable = 85899345920 − 8589934592 = 77309411328 per GPU.
    // 70B first → GPU 0 (tie: lowest index); 32B → GPU 1 (most left).
    const [qwen, llama] = plan.models;
    expect(llama).toMatchObject({ gpuIndex: 0, fullOffload: true, coResident: true });
    expect(qwen).toMatchObject({ gpuIndex: 1, fullOffload: true, coResident: true });
    // 70B: floor((77309411328 − 42520412160) / (327680 × 4096 = 1342177280)) = 25 (< cap 32).
    expect(llama!.slots).toBe(25);
    // 32B: floor((77309411328 − 19851336704) / 1073741824) = 53 → cap 32.
    expect(qwen!.slots).toBe(32);
    expect(plan).toMatchObject({ slots: 25, workers: 25, maxModels: 2, threads: 64, contextSize: 4096 });
    expect(plan.commands.llamaServer).toEqual([
      'CUDA_VISIBLE_DEVICES=1 llama-server -m /models/qwen-32b-q4.gguf --host 127.0.0.1 --port 8080 -np 32 -c 131072 -ngl 999 -t 64',
      'CUDA_VISIBLE_DEVICES=0 llama-server -m /models/llama-70b-q4.gguf --host 127.0.0.1 --port 8081 -np 25 -c 102400 -ngl 999 -t 64',
    ]);
    expect(plan.commands.batchRun).toBe(
      'batch run prompts/ --model /models/qwen-32b-q4.gguf --model /models/llama-70b-q4.gguf --workers 25 --max-models 2 --slots 25 --ctx 4096 --threads 64',
    );
  });

  it('offloads part of a 14B model that does not fit an 8 GB laptop GPU', () => {
    const plan = advise(hardwareFixture('laptop-8g.json'), [modelFixture('qwen-14b-q4')], { contextSize: 4096 });
    // usable = 8271167488 − ceil(858574028.8) = 7412593459 < 8988110976 + 805306368 → partial.
    // slots = min(8, 8 cores / 2) = 4; (8988110976 + 4 × 805306368) / 48 layers = 254361176 B per layer;
    // floor(7412593459 / 254361176) = 29 layers on the GPU, 19 on the CPU.
    expect(plan.models[0]).toMatchObject({ fullOffload: false, gpuLayers: 29, layers: 48, slots: 4 });
    expect(plan).toMatchObject({ gpuLayers: 29, slots: 4, workers: 4, maxModels: 1, threads: 8 });
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings[0]).toContain('partial offload of 29 of 48 layers (-ngl 29)');
    expect(plan.warnings[0]).toContain('9.12 GiB'); // 9793417344 B needed
    expect(plan.warnings[0]).toContain('6.90 GiB usable'); // 7412593459 B
    expect(plan.commands.llamaServer[0]).toBe('llama-server -m /models/qwen-14b-q4.gguf --host 127.0.0.1 --port 8080 -np 4 -c 16384 -ngl 29 -t 8');
    expect(plan.commands.batchRun).toMatch(/ --gpu-layers 29$/);
  });

  it('flags a model that does not fit (100 MiB available): not resident, no command starts it, and the text says so', () => {
    const cpu = hardwareFixture('cpu-8c-32g.json');
    const starved = { ...cpu, memory: { ...cpu.memory, availableBytes: 100 * 2 ** 20 } };
    const plan = advise(starved, [modelFixture('llama-8b-q4')], { contextSize: 4096 });
    expect(plan.models[0]).toMatchObject({ model: 'llama-8b-q4', fits: false, coResident: false });
    expect(plan.commands).toBeUndefined();
    expect(plan.warnings[0]).toMatch(/^llama-8b-q4 does not fit: it needs 5\.08 GiB .* but RAM has 0\.00 GiB usable, so it would swap or fail to load/);
    expect(plan.reasons).toContain('llama-8b-q4 does not fit RAM: even 1 slot needs 5.08 GiB, 0.00 GiB usable');
    expect(plan.reasons).toContain('--max-models 1: none of the 1 model(s) fits in memory at once (see the warnings)');
    const text = formatPlan(plan);
    expect(text).toMatch(/^llama-8b-q4 +RAM .* does not fit$/m);
    expect(text).toContain("Commands: none: llama-8b-q4 does not fit this machine's memory (see the warnings)");
    expect(text).not.toContain('batch run');
    expect(text).not.toMatch(/ yes$/m);

    // On a GPU too: nothing fits the GPU, and what would stay off it exceeds the RAM.
    const laptop = hardwareFixture('laptop-8g.json');
    const full = { ...laptop, memory: { ...laptop.memory, availableBytes: 100 * 2 ** 20 }, gpus: laptop.gpus.map((gpu) => ({ ...gpu, vramFreeBytes: 100 * 2 ** 20 })) };
    const gpuPlan = advise(full, [modelFixture('llama-8b-q4')], { contextSize: 4096 });
    expect(gpuPlan.models[0]).toMatchObject({ fits: false, coResident: false });
    expect(gpuPlan.commands).toBeUndefined();
    expect(gpuPlan.warnings.some((warning) => warning.startsWith('llama-8b-q4 does not fit: the 6.58 GiB left off the GPU exceed the 0.00 GiB of usable RAM'))).toBe(true);
  });

  it('gives commands for the models that fit, without the one that does not, and says which it left out', () => {
    const cpu = hardwareFixture('cpu-8c-32g.json');
    const plan = advise(cpu, [modelFixture('llama-8b-q4'), modelFixture('llama-70b-q4')], { contextSize: 4096 });
    const big = plan.models.find((model) => model.model === 'llama-70b-q4')!;
    expect(big).toMatchObject({ fits: false, coResident: false });
    expect(plan.commands!.batchRun).toContain('--model /models/llama-8b-q4.gguf');
    expect(plan.commands!.batchRun).not.toContain('llama-70b');
    expect(plan.commands!.llamaServer).toHaveLength(1);
    // The settings are the 8B's own (4 slots on 8 cores), not cut to the 1 slot of the model left out.
    expect(plan).toMatchObject({ slots: 4, workers: 4, maxModels: 1 });
    expect(formatPlan(plan)).toContain('# without llama-70b-q4, which does not fit (see the warnings)');
  });

  it('plans unified memory as one pool minus the OS headroom', () => {
    const plan = advise(hardwareFixture('unified-64g.json'), [modelFixture('llama-8b-q4')], { contextSize: 4096 });
    // headroom = max(2 GiB, ceil(0.1 × 64 GiB)) = 6871947674; 48 GiB − that = 44667659878 (< 75% × 64 GiB).
    expect(plan.pools).toEqual([
      { kind: 'unified', name: 'unified memory', totalBytes: 64 * GIB, headroomBytes: 6871947674, usableBytes: 44667659878, slotCap: 32 },
    ]);
    // floor((44667659878 − 4920734016) / 536870912) = 74 → cap 32 (pool ≥ 40 GB).
    expect(plan).toMatchObject({ slots: 32, workers: 32, maxModels: 1, threads: 12 });
    expect(plan.models[0]).toMatchObject({ pool: 'unified', fullOffload: true, gpuLayers: 32 });
    expect(plan.commands.llamaServer[0]).toContain('-np 32 -c 131072 -ngl 999 -t 12');
  });

  it('shares one GPU between two models that fit together', () => {
    const plan = advise(hardwareFixture('rtx3090.json'), [modelFixture('llama-8b-q4'), modelFixture('qwen-14b-q4')], { contextSize: 4096 });
    // (22655952486 − 8988110976 − 4920734016) / 2 = 4373553747 B each;
    // 14B: floor(/805306368) = 5; 8B: floor(/536870912) = 8; --slots = min = 5.
    expect(plan.models.map((m) => [m.model, m.slots, m.coResident])).toEqual([
      ['llama-8b-q4', 8, true],
      ['qwen-14b-q4', 5, true],
    ]);
    expect(plan).toMatchObject({ slots: 5, maxModels: 2 });
  });

  it('is deterministic and rejects a bad context size', () => {
    const hardware = hardwareFixture('a100x2.json');
    const models = [modelFixture('llama-70b-q4'), modelFixture('qwen-32b-q4')];
    expect(advise(hardware, models, { contextSize: 4096 })).toEqual(advise(hardware, models, { contextSize: 4096 }));
    expect(() => advise(hardware, models, { contextSize: 8.5 })).toThrow('expected `contextSize` to be a whole number >= 16, got 8.5');
  });
});
