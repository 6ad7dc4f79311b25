/** A tag an app put on a user, and since when. */
export interface UserTag {
  appId: string;
  tag: string;
  sinceMs: number;
}

/**
 * Which users each app tagged with which tags (port): a notice sent to a tag reaches the users who carry it.
 *
 * - `tag(appId, tag, users, atMs)` tags each user; a user tagged already keeps their first `sinceMs`. Returns how
 *   many were newly tagged.
 * - `untag(appId, tag, users)` removes the tag from each user; returns how many carried it.
 * - `tagsOf(user)` lists every tag the user carries, of every app, sorted by (appId, tag).
 * - `count(appId, tag)` is the number of users carrying it.
 * Tags and app ids are ASCII without ':' (checked by the caller).
 */
export interface TagStore {
  tag(appId: string, tag: string, users: readonly string[], atMs: number): Promise<number>;
  untag(appId: string, tag: string, users: readonly string[]): Promise<number>;
  tagsOf(user: string): Promise<UserTag[]>;
  count(appId: string, tag: string): Promise<number>;
  /**
   * The users carrying the tag, a page at a time (a tag's notice pushed to their devices): at most `limit` (at least
   * 1) users strictly after `after` ('' for the first page) in JS string order (user ids are ASCII, so that is byte
   * order too); `next` is the last user shown, absent when no user follows.
   */
  usersOf(
    appId: string,
    tag: string,
    page: { after: string; limit: number },
  ): Promise<{ items: string[]; next?: string }>;
}
