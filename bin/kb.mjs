#!/usr/bin/env node
// Entry point of the `kb` CLI. The project ships TypeScript sources and runs them through tsx,
// so a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));
