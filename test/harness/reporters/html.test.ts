import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { htmlReporter, renderHtml } from '../../../harness/reporters/html.js';
import { failedRun, HOSTILE_BODY, play, sampleRun, SECRETS } from './fixtures.js';

/** The <section> of one case (sections never nest, so the first </section> closes it). */
function section(html: string, id: string): string {
  const start = html.lastIndexOf('<section', html.indexOf(`id="case-${id}"`));
  expect(start, `section for ${id}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('HTML report', () => {
  const html = renderHtml(sampleRun());

  it('puts the exchange a case failed on first, marked, with why and the reproduction; notes in the header', () => {
    const page = renderHtml(failedRun());
    const s = section(page, 'response.correct');
    const first = s.indexOf('<div class="exchange');
    expect(s.slice(first)).toMatch(
      /^<div class="exchange failed"><p class="failed-on"><b>The case failed on this exchange<\/b>: the body is bare base64, without the JSON string quotes<\/p><h4>Reproduce<\/h4><pre class="reproduce">curl /,
    );
    expect(s.match(/class="exchange failed"/g)).toHaveLength(1);
    expect(page).toMatch(/<ul class="notes"><li>likely root cause of 3 failing cases/);
  });

  it('shows the summary counts', () => {
    for (const [label, n] of [
      ['passed', 2],
      ['failed', 1],
      ['warnings', 1],
      ['skipped', 1],
    ] as const) {
      expect(html).toMatch(new RegExp(`<b>${n}</b>${label}</div>`));
    }
  });

  it('has every case with its id, level, outcome and message, and its HTTP transcript', () => {
    for (const r of sampleRun().results) {
      const s = section(html, r.id);
      expect(s).toContain(`<code>${r.id}</code>`);
      expect(s).toContain(`<b>${r.level}</b>`);
      expect(s).toContain(`o-${r.outcome}`);
      expect(s).toContain(r.message.split(/[<&"]/)[0]!);
      for (const e of r.exchanges) expect(s).toContain(`${e.request.method} ${e.request.url.replace(/&/g, '&amp;')}`);
    }
    const failed = section(html, 'response.correct');
    expect(failed).toContain('<details open>');
    expect(failed).toContain('content-type: application/json; charset=utf-8');
    expect(section(html, 'input.malformed-challenge')).toContain('No response (5001 ms)');
    expect(section(html, 'method.not-allowed')).toContain('{&quot;x&quot;:1}');
  });

  it("keeps a hostile body inert: escaped text, the only <script> is the report's own", () => {
    expect(html.match(/<script/gi)).toHaveLength(1);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; \\x00\\x01\\x1b\\uffff end');
    expect(html).not.toContain('<b>"bold"</b>');
    expect(html).toContain('&lt;b&gt;&quot;bold&quot;&lt;/b&gt;');
    expect(/[\u0000-\u0008\u000b\u000e-\u001f]/.test(html)).toBe(false);
    expect(HOSTILE_BODY).toContain('<script>');
  });

  it('is self-contained: no external asset or link, and a CSP that forbids loading any', () => {
    expect(html).not.toMatch(/\ssrc\s*=/i);
    expect(html).not.toMatch(/href\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b|@import|url\(/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`);
    // Every href is an in-page anchor to a case that exists.
    for (const [, target] of html.matchAll(/href="([^"]*)"/g)) {
      expect(target).toMatch(/^#case-/);
      expect(html).toContain(`id="${target!.slice(1)}"`);
    }
  });

  it('reads without JS: the filter controls stay hidden until the script shows them', () => {
    expect(html).toContain('<div class="filters" hidden>');
  });

  it('redacts credentials', () => {
    for (const secret of SECRETS) expect(html).not.toContain(secret);
    expect(html).toContain('Authorization: Bearer [redacted]');
  });

  it('is written by the reporter in onRunEnd, creating the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cmcard-html-'));
    try {
      const path = join(dir, 'out', 'report.html');
      await play(htmlReporter(path), sampleRun());
      expect(await readFile(path, 'utf8')).toBe(html);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
