#!/usr/bin/env node
// Entry point for `npx imctl`: loads the TypeScript CLI through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./imctl.ts');
await main(process.argv);
