import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger; services take `log.child({ svc: 'push' })`. Level from IM_LOG_LEVEL (default info, silent in tests). */
export function createLogger(level = process.env.IM_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined });
}
