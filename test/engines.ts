import { up, type EngineEndpoints, type EngineName } from '../infra/engines.ts';

/**
 * For tests of real adapters: makes sure the named engines run (starting them if needed, which `npm test` has
 * normally done already) and returns their endpoints. Never skips: an engine that cannot start fails the test
 * with the engine's own log tail.
 */
export async function engines(...names: EngineName[]): Promise<EngineEndpoints> {
  return up(names, { onProgress: (line) => process.stderr.write(`${line}\n`) });
}
