// The e2e scenario's charts: CPU per recipient device by case (seal's share and open), the 1:1 cost as devices grow,
// and send-to-delivered latency, plaintext beside encrypted.
import type { CryptoCost } from './e2e-crypto-cost.ts';
import type { SendLatency } from './e2e-send-latency.ts';
import { PALETTE, type Chart } from './svg.ts';

export function e2eCharts(
  crypto: CryptoCost,
  latency: Record<string, SendLatency>,
  targets: { perDeviceUs: number },
): Chart[] {
  const cases = [...crypto.oneToOne, ...crypto.groups];
  const charts: Chart[] = [
    {
      kind: 'bar',
      title: 'CPU per message per recipient device (µs)',
      yLabel: 'µs',
      groups: cases.map((c) => ({
        label: c.kind === '1:1' ? `1:1 x${c.recipientDevices}` : `group ${c.recipientDevices + 1}`,
        bars: [
          { name: 'seal / devices', value: c.sealUs / c.recipientDevices },
          { name: 'open', value: c.openUs },
          { name: 'both', value: c.perDeviceUs },
        ],
      })),
      hLine: { y: targets.perDeviceUs, label: `target ${targets.perDeviceUs} µs` },
    },
    {
      kind: 'line',
      title: '1:1: CPU per message by recipient devices',
      xLabel: 'recipient devices',
      yLabel: 'µs per message',
      series: [
        { name: 'seal', points: crypto.oneToOne.map((c) => [c.recipientDevices, c.sealUs]), color: PALETTE[0]! },
        {
          name: 'opens (all devices)',
          points: crypto.oneToOne.map((c) => [c.recipientDevices, c.openUs * c.recipientDevices]),
          color: PALETTE[1]!,
        },
        {
          name: 'seal + opens',
          points: crypto.oneToOne.map((c) => [c.recipientDevices, c.totalUs]),
          color: PALETTE[2]!,
        },
      ],
    },
  ];
  const modes = Object.entries(latency);
  if (modes.length > 0) {
    charts.push({
      kind: 'bar',
      title: '1:1 send to delivered at 1,000 msg/s (ms)',
      yLabel: 'ms',
      groups: (['p50', 'p95', 'p99'] as const).map((q) => ({
        label: q,
        bars: modes.flatMap(([name, l]) => [
          { name: `${name} plaintext`, value: l.plaintext.latencyMs[q] },
          { name: `${name} encrypted`, value: l.encrypted.latencyMs[q] },
        ]),
      })),
    });
  }
  return charts;
}
