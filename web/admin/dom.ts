import { el } from '../dom.ts';

export { el, messageOf } from '../dom.ts';

let fieldIds = 0;

/** A control with its label (label for=id), as a block. */
export function labelled(text: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement) {
  if (control.id === '') control.id = `field-${++fieldIds}`;
  return el('div', { class: 'field' }, el('label', { for: control.id }, text), control);
}

/** A date and time as the operator's locale shows it ('' for 0, which the API uses for "not yet"). */
export function when(ms: number): string {
  return ms > 0 ? new Date(ms).toLocaleString() : '';
}

/**
 * Runs `tick` now and every `ms` after the previous one finished (never two at once) until `stop`; a tick that
 * throws is reported to `onError` and the polling goes on.
 */
export function poll(ms: number, tick: () => Promise<void>, onError: (err: unknown) => void): { stop(): void } {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    try {
      await tick();
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = setTimeout(() => void run(), ms);
  };
  void run();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
