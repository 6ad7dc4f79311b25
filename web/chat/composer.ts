import { el } from './dom.ts';
import type { ChatEntry } from './store.ts';

export interface ComposerActions {
  send(text: string): void;
  saveEdit(entry: ChatEntry, text: string): void;
}

/**
 * The message box: Enter sends (Shift+Enter is a new line). Editing a message reuses it: the text comes in, Enter
 * saves, Escape cancels.
 */
export class Composer {
  readonly form: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly hint: HTMLElement;
  private readonly button: HTMLButtonElement;
  private editing: ChatEntry | undefined;

  constructor(private readonly actions: ComposerActions) {
    this.input = el('textarea', {
      id: 'composer-input',
      rows: '2',
      'data-testid': 'composer-input',
      placeholder: 'Write a message',
      onkeydown: (e) => this.onKey(e as KeyboardEvent),
    });
    this.hint = el('p', { class: 'composer-hint', 'aria-live': 'polite' });
    this.button = el('button', { type: 'submit', 'data-testid': 'send' }, 'Send');
    this.form = el(
      'form',
      { class: 'composer', onsubmit: (e) => (e.preventDefault(), this.submit()) },
      this.hint,
      el('label', { for: 'composer-input', class: 'visually-hidden' }, 'Message'),
      this.input,
      this.button,
    );
  }

  focus(): void {
    this.input.focus();
  }

  startEdit(entry: ChatEntry): void {
    this.editing = entry;
    this.input.value = entry.text;
    this.hint.textContent = 'Editing a message (Escape cancels)';
    this.button.textContent = 'Save';
    this.input.focus();
  }

  cancelEdit(): void {
    this.editing = undefined;
    this.input.value = '';
    this.hint.textContent = '';
    this.button.textContent = 'Send';
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.submit();
    } else if (e.key === 'Escape' && this.editing) this.cancelEdit();
  }

  private submit(): void {
    const text = this.input.value;
    if (text.trim() === '') return;
    const editing = this.editing;
    this.cancelEdit();
    if (editing) this.actions.saveEdit(editing, text);
    else this.actions.send(text);
  }
}
