import { describe, expect, it } from 'vitest';
import { histogramSvg, logBins, renderLoadHtml, timeChartSvg, timelineSvgs } from '../../harness/reporters/load-html.js';
import { LatencyHistogram } from '../../harness/load/histogram.js';
import { emptySummary } from '../../harness/load/summary.js';
import type { TimelinePoint } from '../../harness/load/timeline.js';

const latency = { p50: 1, p90: 2, p95: 3, p99: 4, max: 5 };

describe('load HTML report', () => {
  it('regroups buckets into at most 48 ascending log bins without losing a sample', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 50_000; i++) h.record(i * 3);
    const bins = logBins(h.buckets());
    expect(bins.length).toBeLessThanOrEqual(48);
    expect(bins.reduce((n, b) => n + b.count, 0)).toBe(50_000);
    for (let i = 1; i < bins.length; i++) expect(bins[i]!.lowMs).toBeCloseTo(bins[i - 1]!.highMs, 9);
    expect(bins[0]!.lowMs).toBeLessThanOrEqual(0.003);
    expect(bins[bins.length - 1]!.highMs).toBeGreaterThanOrEqual(150);
  });

  it('draws one bar per non-empty bin and says so when nothing was recorded', () => {
    const h = new LatencyHistogram();
    for (const v of [1000, 1000, 2000, 50_000]) h.record(v);
    const svg = histogramSvg(h.buckets(), latency);
    expect(svg.match(/<rect /g)?.length).toBe(3);
    expect(svg).toContain('p99 4.00 ms');
    expect(histogramSvg([], latency)).toContain('no latencies recorded');
  });

  it('escapes what came from outside and loads nothing', () => {
    const html = renderLoadHtml({
      server: 'http://x/<script>alert(1)</script>',
      startedAt: 'now',
      load: 'concurrency 2',
      connections: 2,
      cards: 1,
      summary: {
        ...emptySummary(),
        latencyMs: latency,
        thresholds: [{ threshold: 'p99<1', metric: 'p99', actual: 4, unit: ' ms', pass: false }],
        firstWrongCryptograms: [
          { card: '<i>a</i>', cardid: 'x', challenge: 'AAAAAAAAAAA=', response: '"<svg onload=x>"', diagnosis: 'it is <b>', phase: 'run', atMs: 1 },
        ],
      },
      transportErrors: { refused: 2 },
      buckets: [],
      timeline: [],
      verdict: { exitCode: 3, reason: 'server unreachable: <b>' },
      tool: { name: 'cmcard', version: '0' },
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('server unreachable: &lt;b&gt;');
    expect(html).toContain('FAILED (exit 3)');
    expect(html).toMatch(/<th>refused<\/th><td>2<\/td>/);
    expect(html).toContain('<td>p99&lt;1</td><td>4 ms</td><td class="bad">FAIL</td>');
    expect(html).toContain('&lt;i&gt;a&lt;/i&gt;');
    expect(html).not.toContain('<svg onload');
  });

  it('draws the rate and the latency over time, breaking the latency line where nothing was answered', () => {
    const point = (t: number, completed: number, latencyMs: TimelinePoint['latencyMs']): TimelinePoint => ({
      tMs: t,
      durationMs: 1000,
      started: completed,
      completed,
      dropped: t === 2000 ? 7 : 0,
      errors: 0,
      wrongCryptograms: 0,
      target: 100,
      latencyMs,
    });
    const points = [point(0, 100, { p50: 1, p99: 2, max: 3 }), point(1000, 0, null), point(2000, 200, { p50: 5, p99: 900, max: 1000 })];
    const svgs = timelineSvgs(points, true);
    expect(svgs).toMatch(/aria-label="rate over time"/);
    expect(svgs).toMatch(/aria-label="latency over time"/);
    expect(svgs).toContain('target/s');
    expect(svgs).toContain('dropped/s');
    // p99 drawn as two separate pieces (M ... then M ...): the empty second is a gap, not a dip to 0.
    const p99 = /<path d="([^"]+)"[^>]*><title>p99<\/title>/.exec(svgs)![1]!;
    expect(p99.match(/M/g)).toHaveLength(2);
    expect(p99).not.toContain('L');
    expect(timelineSvgs(points, false)).not.toContain('target/s');
    expect(timeChartSvg('x', [], [], 'y', false)).toContain('no data');
  });
});
