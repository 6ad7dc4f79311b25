/** Attributes an element is built with: strings become attributes, functions become listeners (on + event name). */
export type Attrs = Record<string, string | boolean | undefined | ((event: Event) => void)>;
export type Child = Node | string | null | undefined | false;

/**
 * Builds an element. Text always goes in as text nodes (message bodies, names and notices are written by others):
 * nothing here ever parses HTML.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => Boolean(c)));
}

/** An error's message for the page (the SDK's ImError and the server's JSON errors carry readable ones). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
