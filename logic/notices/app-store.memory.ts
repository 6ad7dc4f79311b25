import { copyApp, type App, type AppStore, type Page, type PageRequest } from './app-store.ts';

/** Apps in a Map: the default for tests and a single process without a data directory. */
export class MemoryAppStore implements AppStore {
  private readonly apps = new Map<string, App>();

  create(app: App): Promise<void> {
    if (this.apps.has(app.id)) return Promise.reject(new Error(`app ${app.id} exists`));
    this.apps.set(app.id, copyApp(app));
    return Promise.resolve();
  }

  get(id: string): Promise<App | undefined> {
    const app = this.apps.get(id);
    return Promise.resolve(app && copyApp(app));
  }

  list({ after, limit }: PageRequest): Promise<Page<App>> {
    const ids = [...this.apps.keys()].filter((id) => id > after).sort();
    const items = ids.slice(0, limit).map((id) => copyApp(this.apps.get(id)!));
    return Promise.resolve(ids.length > limit ? { items, next: ids[limit - 1]! } : { items });
  }

  revoke(id: string, atMs: number): Promise<App | undefined> {
    const app = this.apps.get(id);
    if (app) app.revokedAtMs ??= atMs;
    return Promise.resolve(app && copyApp(app));
  }
}
