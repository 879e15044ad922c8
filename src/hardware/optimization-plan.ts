/** A memory pool models are placed in: one GPU's VRAM, unified memory, or system RAM. */
export interface MemoryPool {
  readonly kind: 'gpu' | 'unified' | 'ram';
  /** Index in `HardwareSummary.gpus` (CUDA device number) for `kind: 'gpu'`. */
  readonly gpuIndex?: number;
  /** e.g. "GPU 0 (NVIDIA GeForce RTX 3090)", "unified memory", "RAM". */
  readonly name: string;
  readonly totalBytes: number;
  /** Kept free: 10% of VRAM; max(2 GiB, 10%) of RAM and unified memory. */
  readonly headroomBytes: number;
  /** What models may use: free (or available) bytes minus the headroom. */
  readonly usableBytes: number;
  /** Most parallel sequences worth running on it (bigger pools keep gaining from more). */
  readonly slotCap: number;
}

/** Where one model runs and with what shape. */
export interface ModelPlacement {
  readonly model: string;
  /** The GGUF file; undefined for the assumed model. */
  readonly path?: string;
  readonly pool: MemoryPool['kind'];
  readonly gpuIndex?: number;
  readonly poolName: string;
  readonly layers: number;
  /** Layers on the GPU (`-ngl`): all of them when `fullOffload`, 0 on the CPU. */
  readonly gpuLayers: number;
  readonly fullOffload: boolean;
  /** False when it fits only alone (it is loaded in turn with the models placed before it), or not at all. */
  readonly coResident: boolean;
  /**
   * False when it fits nowhere: not even alone with one slot in RAM or unified memory, or, on a
   * GPU, with more left off the GPU than RAM can hold. It would swap or fail to load: the plan
   * flags it and gives no command that starts it.
   */
  readonly fits: boolean;
  /** Parallel sequences its memory allows (`-np`). */
  readonly slots: number;
  readonly contextPerSlot: number;
  readonly weightsBytes: number;
  /** kvBytesPerToken × contextPerSlot × slots. */
  readonly kvCacheBytes: number;
}

/** The exact commands that apply the plan. */
export interface PlanCommands {
  readonly batchRun: string;
  /** One `llama-server` per model, each on its own port. */
  readonly llamaServer: readonly string[];
  readonly ollamaEnv: Readonly<Record<string, string>>;
  readonly ollamaServe: string;
}

/** What `advise()` recommends, with the reason for every number. */
export interface OptimizationPlan {
  /** Set when no model was given and the plan assumes one. */
  readonly assumption?: string;
  /** The machine planned for (`hardwareFingerprint`), saved with the advice. */
  readonly hardwareFingerprint: string;
  readonly pools: readonly MemoryPool[];
  readonly models: readonly ModelPlacement[];
  /** Requests in flight (`--workers`): one per slot of a server; more only queue inside it. */
  readonly workers: number;
  /** Models resident at once (`--max-models`). */
  readonly maxModels: number;
  /** `--slots`: the smallest of the models' slots, since the flag applies to every server. */
  readonly slots: number;
  /** Context per slot (`--ctx`). */
  readonly contextSize: number;
  readonly threads: number;
  /** `--gpu-layers`, only when a model is partially offloaded; undefined means all layers. */
  readonly gpuLayers?: number;
  readonly warnings: readonly string[];
  readonly reasons: readonly string[];
  /** The commands, for the models that fit (see `ModelPlacement.fits`); absent when none does. */
  readonly commands?: PlanCommands;
}
