import { join } from 'node:path';

/** Where scripts/build-web.ts puts the web client and the admin console. */
export const WEB_DIST = join(import.meta.dirname, '..', 'web', 'dist');
