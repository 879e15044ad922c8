#!/usr/bin/env node
import { leanHeap } from '../dist/util/lean-heap.js';

// Before the rest of batch loads: loading it is where the young generation first grows.
leanHeap();
const { main } = await import('../dist/cli/main.js');
await main();
