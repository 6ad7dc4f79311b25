import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from 'find-my-way';
import { ImError } from './errors.ts';
import { sendError } from './http.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE'];

/** A request matched to its route: the route, its path parameters, and the parsed URL. */
export interface Matched<R> {
  route: R;
  params: Record<string, string>;
  url: URL;
}

/**
 * An API's routes by method and path, with path parameters (find-my-way). A request to one of its paths with a
 * method it does not take is answered 405 with Allow here.
 */
export class HttpRoutes<R> {
  private readonly router = Router();
  private readonly byPath = new Map<string, Partial<Record<HttpMethod, R>>>();

  on(method: HttpMethod, path: string, route: R): void {
    this.byPath.set(path, { ...this.byPath.get(path), [method]: route });
    this.router.on(method, path, () => undefined, { path });
  }

  /**
   * The request's route; undefined when its path is none of these (the request is another API's), 'answered' when
   * the path is known but not the method (the 405 is sent).
   */
  match(req: IncomingMessage, res: ServerResponse): Matched<R> | 'answered' | undefined {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
    const found =
      (METHODS.includes(method) ? this.router.find(method, url.pathname) : null) ??
      METHODS.map((m) => this.router.find(m, url.pathname)).find((f) => f !== null);
    if (!found) return undefined;
    const byMethod = this.byPath.get((found.store as { path: string }).path)!;
    const route = byMethod[method];
    if (route === undefined) {
      const allow = Object.keys(byMethod).join(', ');
      sendError(res, new ImError('METHOD_NOT_ALLOWED', `${url.pathname} takes ${allow}`), { allow });
      return 'answered';
    }
    const params = Object.fromEntries(Object.entries(found.params).map(([k, v]) => [k, v ?? '']));
    return { route, params, url };
  }
}
