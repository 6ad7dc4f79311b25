import { readFileSync } from 'node:fs';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { ApnsSender } from '../push/mobile/apns-sender.ts';
import { FcmSender } from '../push/mobile/fcm-sender.ts';
import { RedirectAgent } from '../push/mobile/redirect-agent.ts';
import type { Platform, PushSender } from '../push/mobile/push-sender.ts';

/**
 * The providers configured: each one whose credentials are given (lib/config.ts); one without is off, said in one
 * log line, and everything else works (its devices get no pushes, counted as no-provider).
 */
export function mobileSenders(config: Config, log: Logger): Partial<Record<Platform, PushSender>> {
  const senders: Partial<Record<Platform, PushSender>> = {};
  const apns = apnsSender(config, log);
  if (apns) senders.apns = apns;
  const fcm = fcmSender(config, log);
  if (fcm) senders.fcm = fcm;
  return senders;
}

function fcmSender(config: Config, log: Logger): PushSender | undefined {
  if (!config.fcmServiceAccountFile) {
    log.info('FCM off: no IM_FCM_SERVICE_ACCOUNT_FILE');
    return undefined;
  }
  try {
    const account = JSON.parse(readFileSync(config.fcmServiceAccountFile, 'utf8')) as Record<string, unknown>;
    const field = (name: string) => (typeof account[name] === 'string' ? account[name] : '');
    const relay = config.fcmAddress ? hostPort(config.fcmAddress) : undefined;
    const ca = config.fcmCaFile ? readFileSync(config.fcmCaFile, 'utf8') : undefined;
    return new FcmSender({
      projectId: field('project_id'),
      clientEmail: field('client_email'),
      privateKey: field('private_key'),
      ...(relay ? { httpAgent: new RedirectAgent({ host: relay.address, port: relay.port }, ca ? { ca } : {}) } : {}),
    });
  } catch (err) {
    log.error({ reason: (err as Error).message }, 'FCM off: its configuration is not usable');
    return undefined;
  }
}

function apnsSender(config: Config, log: Logger): PushSender | undefined {
  if (!config.apnsKeyFile && !config.apnsKeyId && !config.apnsTeamId) {
    log.info('APNs off: no IM_APNS_KEY_FILE, IM_APNS_KEY_ID, IM_APNS_TEAM_ID');
    return undefined;
  }
  try {
    const endpoint = config.apnsAddress ? hostPort(config.apnsAddress) : undefined;
    return new ApnsSender({
      key: config.apnsKeyFile ? readFileSync(config.apnsKeyFile, 'utf8') : '',
      keyId: config.apnsKeyId,
      teamId: config.apnsTeamId,
      ...(endpoint ? { endpoints: { production: endpoint, sandbox: endpoint } } : {}),
      ...(config.apnsCaFile ? { ca: readFileSync(config.apnsCaFile, 'utf8') } : {}),
    });
  } catch (err) {
    log.error({ reason: (err as Error).message }, 'APNs off: its configuration is not usable');
    return undefined;
  }
}

function hostPort(address: string): { address: string; port: number } {
  const at = address.lastIndexOf(':');
  return { address: address.slice(0, at), port: Number(address.slice(at + 1)) };
}
