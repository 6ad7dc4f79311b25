import { groupRoleName, type GroupMember } from '../../client/sdk.ts';
import { el, fill, messageOf } from './dom.ts';
import type { Session } from './session.ts';

/** A group's members, with add, remove and leave. Shown under the conversation's header when asked for. */
export class GroupPanel {
  readonly element: HTMLElement;
  private readonly list = el('ul', { class: 'members', 'data-testid': 'members' });
  private readonly addInput = el('input', { id: 'add-member', 'data-testid': 'add-member-input', autocomplete: 'off' });
  private groupId: string | undefined;

  constructor(
    private readonly session: Session,
    private readonly report: (problem: string) => void,
    private readonly left: () => void,
  ) {
    this.element = el(
      'div',
      { class: 'group-panel', hidden: true, 'data-testid': 'group-panel' },
      el('h3', {}, 'Members'),
      this.list,
      el(
        'form',
        { class: 'inline-form', onsubmit: (e) => (e.preventDefault(), void this.add()) },
        el('label', { for: 'add-member' }, 'Add members (ids, comma-separated)'),
        this.addInput,
        el('button', { type: 'submit', 'data-testid': 'add-member' }, 'Add'),
      ),
      el(
        'button',
        { type: 'button', class: 'danger', 'data-testid': 'leave-group', onclick: () => void this.leave() },
        'Leave group',
      ),
    );
  }

  /** The group of the open conversation (undefined: not a group); the panel closes until asked for again. */
  show(groupId: string | undefined): void {
    this.groupId = groupId;
    this.element.hidden = true;
  }

  toggle(): void {
    this.element.hidden = !this.element.hidden;
    if (!this.element.hidden) void this.refresh();
  }

  private async refresh(): Promise<void> {
    const groupId = this.groupId;
    if (!groupId) return;
    try {
      const members = await this.session.client.allGroupMembers(groupId);
      if (groupId === this.groupId) fill(this.list, ...members.map((m) => this.memberItem(m)));
    } catch (err) {
      this.report(messageOf(err));
    }
  }

  private memberItem(member: GroupMember): HTMLLIElement {
    const me = member.user === this.session.auth.user;
    return el(
      'li',
      { 'data-testid': 'member', 'data-user': member.user },
      el('span', {}, me ? `${member.user} (you)` : member.user),
      el('span', { class: 'role' }, groupRoleName(member.role) ?? ''),
      !me &&
        el(
          'button',
          { type: 'button', 'aria-label': `Remove ${member.user}`, onclick: () => void this.remove(member.user) },
          'Remove',
        ),
    );
  }

  private async add(): Promise<void> {
    const users = splitIds(this.addInput.value);
    if (!this.groupId || users.length === 0) return;
    await this.run(() => this.session.client.addMembers(this.groupId!, users));
    this.addInput.value = '';
  }

  private async remove(user: string): Promise<void> {
    if (this.groupId) await this.run(() => this.session.client.removeMembers(this.groupId!, [user]));
  }

  private async leave(): Promise<void> {
    const groupId = this.groupId;
    if (!groupId) return;
    // Once out, the member list is no longer this user's to read: back to the list instead.
    if (await this.run(() => this.session.client.leaveGroup(groupId), false)) this.left();
  }

  /** A group change, then the member list again; the server's refusal shown as it is. */
  private async run(change: () => Promise<unknown>, refresh = true): Promise<boolean> {
    try {
      await change();
      if (refresh) await this.refresh();
      return true;
    } catch (err) {
      this.report(messageOf(err));
      return false;
    }
  }
}

/** "a, b c" → ["a", "b", "c"]. */
export function splitIds(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
