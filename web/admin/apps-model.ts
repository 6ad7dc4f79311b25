import type { AppInfo } from '../../client/notice-api.ts';
import type { AdminApi } from './admin-api.ts';

/** The apps as last listed, shared by the panels that show or pick them; each listener runs on every refresh. */
export class AppsModel {
  private apps: AppInfo[] = [];
  private readonly listeners: ((apps: readonly AppInfo[]) => void)[] = [];

  constructor(private readonly api: AdminApi) {}

  get all(): readonly AppInfo[] {
    return this.apps;
  }

  get active(): AppInfo[] {
    return this.apps.filter((a) => a.revoked_at_ms === undefined || a.revoked_at_ms === 0);
  }

  onChange(listener: (apps: readonly AppInfo[]) => void): void {
    this.listeners.push(listener);
    listener(this.apps);
  }

  async refresh(): Promise<void> {
    this.apps = (await this.api.listApps()).apps;
    for (const listener of this.listeners) listener(this.apps);
  }
}
