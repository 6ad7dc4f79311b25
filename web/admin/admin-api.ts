import type {
  AppInfo,
  AppList,
  DeadLetterList,
  NewApp,
  NoticeList,
  NoticeStatus,
  SendNoticeRequest,
} from '../../client/notice-api.ts';

/** An answer other than 2xx: its HTTP status, the API's stable code, and its message. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

/**
 * The operator's API as the console calls it, on the page's own origin with `Authorization: Bearer <operator
 * token>` (the page cannot use client/notice-api.ts, which signs with node:crypto; its types are shared).
 */
export class AdminApi {
  constructor(private readonly token: string) {}

  listApps(): Promise<AppList> {
    return this.call('GET', '/v1/admin/apps?limit=500');
  }

  createApp(app: NewApp): Promise<AppInfo & { secret: string }> {
    return this.call('POST', '/v1/admin/apps', app);
  }

  revokeApp(id: string): Promise<AppInfo> {
    return this.call('DELETE', `/v1/admin/apps/${encodeURIComponent(id)}`);
  }

  sendNotice(appId: string, notice: SendNoticeRequest): Promise<NoticeStatus> {
    return this.call('POST', notices(appId), notice);
  }

  listNotices(appId: string): Promise<NoticeList> {
    return this.call('GET', `${notices(appId)}?limit=500`);
  }

  getNotice(appId: string, id: string): Promise<NoticeStatus> {
    return this.call('GET', `${notices(appId)}/${encodeURIComponent(id)}`);
  }

  cancelNotice(appId: string, id: string): Promise<NoticeStatus> {
    return this.call('DELETE', `${notices(appId)}/${encodeURIComponent(id)}`);
  }

  listDeadLetters(): Promise<DeadLetterList> {
    return this.call('GET', '/v1/admin/push/dead-letters?limit=500');
  }

  replayDeadLetters(ids: string[]): Promise<{ replayed: number }> {
    return this.call('POST', '/v1/admin/push/dead-letters/replay', { ids });
  }

  /** The server's /metrics, as Prometheus text. */
  async metrics(): Promise<string> {
    const res = await fetch('/metrics');
    if (!res.ok) throw new AdminApiError(res.status, 'UNAVAILABLE', `/metrics: HTTP ${res.status}`);
    return res.text();
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AdminApiError(res.status, 'INTERNAL', `${method} ${path}: HTTP ${res.status}, not JSON`);
    }
    if (!res.ok) {
      const { code, message } = json as { code?: unknown; message?: unknown };
      throw new AdminApiError(
        res.status,
        typeof code === 'string' ? code : 'INTERNAL',
        typeof message === 'string' ? message : `HTTP ${res.status}`,
      );
    }
    return json as T;
  }
}

function notices(appId: string): string {
  return `/v1/admin/apps/${encodeURIComponent(appId)}/notices`;
}
