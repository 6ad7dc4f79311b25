import type { NoticeTarget, Priority, SendNoticeRequest } from '../../client/notice-api.ts';
import { el, labelled } from './dom.ts';

type Audience = 'unicast' | 'multicast' | 'tag' | 'broadcast';
const AUDIENCES: readonly [Audience, string][] = [
  ['unicast', 'One user'],
  ['multicast', 'Several users'],
  ['tag', 'Users with a tag'],
  ['broadcast', 'Everyone'],
];

/**
 * The form that composes a notice: audience, title and body, priority, when to send and when it expires. Calls
 * `send` with the request (a fresh message_id each time) and shows what it answers.
 */
export function composeForm(send: (request: SendNoticeRequest) => Promise<void>): HTMLFormElement {
  const radios = AUDIENCES.map(([value], i) =>
    el('input', { type: 'radio', name: 'audience', value, checked: i === 0 }),
  );
  const user = el('input', { name: 'user', autocomplete: 'off' });
  const users = el('textarea', { name: 'users', rows: '2', placeholder: 'ann, bob, cat' });
  const tag = el('input', { name: 'tag', autocomplete: 'off' });
  const targets: Record<Audience, HTMLElement | null> = {
    unicast: labelled('User', user),
    multicast: labelled('Users (separated by commas or spaces)', users),
    tag: labelled('Tag', tag),
    broadcast: null,
  };
  const title = el('input', { name: 'title', required: true });
  const body = el('textarea', { name: 'body', rows: '3' });
  const priority = el(
    'select',
    { name: 'priority' },
    ...(['high', 'normal', 'low'] as const).map((p) => el('option', { value: p, selected: p === 'normal' }, p)),
  );
  const sendAt = el('input', { type: 'datetime-local', name: 'deliver_at' });
  const expireAt = el('input', { type: 'datetime-local', name: 'expire_at' });
  const error = el('p', { class: 'error', role: 'alert', 'data-testid': 'compose-error' });
  const audience = () => (radios.find((r) => r.checked)?.value ?? 'unicast') as Audience;
  const showTarget = () => {
    for (const [kind, block] of Object.entries(targets)) if (block) block.hidden = kind !== audience();
  };
  for (const radio of radios) radio.addEventListener('change', showTarget);
  showTarget();

  const form = el(
    'form',
    { 'aria-label': 'Compose a notice', class: 'compose' },
    el(
      'fieldset',
      {},
      el('legend', {}, 'Audience'),
      ...radios.map((r, i) => el('label', { class: 'check' }, r, AUDIENCES[i]![1])),
    ),
    ...Object.values(targets).filter((b): b is HTMLElement => b !== null),
    labelled('Title', title),
    labelled('Body', body),
    labelled('Priority', priority),
    labelled('Send at (empty: now)', sendAt),
    labelled('Expires at (optional)', expireAt),
    el('button', {}, 'Send notice'),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.textContent = '';
    const request: SendNoticeRequest = {
      message_id: crypto.randomUUID(),
      target: targetOf(audience(), { user: user.value, users: users.value, tag: tag.value }),
      content: { title: title.value, body: body.value },
      priority: priority.value as Priority,
      ...timeField('deliver_at_ms', sendAt.value),
      ...timeField('expire_at_ms', expireAt.value),
    };
    send(request).catch((err: unknown) => (error.textContent = err instanceof Error ? err.message : String(err)));
  });
  return form;
}

function targetOf(audience: Audience, input: { user: string; users: string; tag: string }): NoticeTarget {
  switch (audience) {
    case 'unicast':
      return { users: [input.user.trim()] };
    case 'multicast':
      return { users: input.users.split(/[\s,]+/).filter((u) => u !== '') };
    case 'tag':
      return { tag: input.tag.trim() };
    case 'broadcast':
      return { all: true };
    default: {
      const never: never = audience;
      throw new Error(`unknown audience ${String(never)}`);
    }
  }
}

/** A datetime-local value (the operator's local time) as epoch ms under `name`, or nothing when empty. */
function timeField(name: 'deliver_at_ms' | 'expire_at_ms', value: string): Partial<SendNoticeRequest> {
  return value === '' ? {} : { [name]: new Date(value).getTime() };
}
