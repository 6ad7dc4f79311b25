/** One sample of the Prometheus text format: a metric name (with its _count/_sum/_bucket suffix), labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/;

/**
 * The samples of a /metrics answer (text exposition format 0.0.4). Comments (# HELP, # TYPE) and blank lines are
 * skipped; a line that is not a sample is skipped too, so one odd line does not lose the figures.
 */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const sample = parseLine(trimmed);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseLine(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) return undefined;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const end = closingBrace(rest);
    if (end < 0) return undefined;
    let inner = rest.slice(1, end);
    while (inner.trim() !== '') {
      const m = LABEL.exec(inner);
      if (!m) return undefined;
      labels[m[1]!] = unescapeLabel(m[2]!);
      inner = inner.slice(m[0].length);
    }
    rest = rest.slice(end + 1);
  }
  const value = numberOf(rest.trim().split(/\s+/)[0] ?? '');
  return value === undefined ? undefined : { name, labels, value };
}

/** Where the label set ends: the first `}` outside a quoted value. */
function closingBrace(text: string): number {
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '}' && !quoted) return i;
  }
  return -1;
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function numberOf(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (text === '') return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** The sum of the samples named `name` whose labels include every one of `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
