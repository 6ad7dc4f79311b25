/**
 * Every bus topic, defined once; infra creates them from this list and services name them from here.
 *   chat_input      upstream sends, keyed by conversation (one conversation keeps its order)
 *   user_state      device online/offline, keyed by user
 *   push_jobs       messages stored for a user whose unconnected devices may need a mobile push, keyed by user
 *   search_input    what was stored that changes the search index (cluster mode), keyed by the message it changes
 *   push_dlq        mobile pushes the providers would not take after every try (JSON), for whoever watches them
 *   <topic>.dead    records a handler gave up on, with the reason in the value
 */
export const topics = {
  chatInput: { name: 'chat_input', partitions: 8 },
  userState: { name: 'user_state', partitions: 8 },
  pushJobs: { name: 'push_jobs', partitions: 8 },
  searchInput: { name: 'search_input', partitions: 8 },
  searchInputDead: { name: 'search_input.dead', partitions: 1 },
  chatInputDead: { name: 'chat_input.dead', partitions: 1 },
  pushJobsDead: { name: 'push_jobs.dead', partitions: 1 },
  pushDlq: { name: 'push_dlq', partitions: 1 },
  userStateDead: { name: 'user_state.dead', partitions: 1 },
} as const;

export type TopicName = (typeof topics)[keyof typeof topics]['name'];

export function deadLetterTopic(topic: string): string {
  return `${topic}.dead`;
}
