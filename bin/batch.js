#!/usr/bin/env node
import { leanHeap } from '../dist/util/lean-heap.js';
import { main } from '../dist/cli/main.js';

leanHeap();
await main();
