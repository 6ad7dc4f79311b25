// Debian's Chromium for the browser tests (installed with apt-get when missing, like redis-server).
import { aptBinary } from './apt.ts';
import type { Progress } from './engine-types.ts';

/** The path of chromium, installed first when missing (with a font, so pages render text in screenshots). */
export function chromiumBinary(onProgress: Progress): Promise<string> {
  return aptBinary({ label: 'chromium', binary: 'chromium', packages: ['chromium', 'fonts-liberation'] }, onProgress);
}

/**
 * Flags for a headless Chromium on a machine without a network beyond loopback: no sandbox (tests run as root), no
 * background connections to Google's services (refused here, many at a time, and looked up at every start). Headless
 * is the launcher's to set.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
