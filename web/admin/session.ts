/** The operator token lives in this tab's sessionStorage: gone when the tab closes, never in localStorage. */
const KEY = 'im-admin-operator-token';

export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  save: (token: string): void => sessionStorage.setItem(KEY, token),
  clear: (): void => sessionStorage.removeItem(KEY),
};
