/**
 * mulberry32: a tiny seeded PRNG returning numbers in [0, 1). Used where a run must be
 * reproducible from a seed alone, which `Math.random` cannot give: the weights of generated
 * models, and the simulated server's fault draws in the tests.
 */
export function createSeededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
