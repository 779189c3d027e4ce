#!/usr/bin/env node
// iocflow runs its TypeScript through tsx (a runtime dependency), so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
