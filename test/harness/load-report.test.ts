import { describe, expect, it } from 'vitest';
import { histogramSvg, logBins, renderLoadHtml } from '../../harness/reporters/load-html.js';
import { LatencyHistogram } from '../../harness/load/histogram.js';

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
      server: 'http://x/<script>alert(1)</script>', startedAt: 'now', concurrency: 2, cards: 1, verified: 0,
      summary: { exchanges: 0, durationMs: 0, exchangesPerSecond: 0, wrongCryptograms: 0, errors: 0, statusCodes: {}, latencyMs: latency },
      transportErrors: { refused: 2 }, buckets: [], verdict: { exitCode: 3, reason: 'server unreachable: <b>' }, tool: { name: 'cmcard', version: '0' },
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('server unreachable: &lt;b&gt;');
    expect(html).toContain('FAILED (exit 3)');
    expect(html).toMatch(/<th>refused<\/th><td>2<\/td>/);
  });
});
