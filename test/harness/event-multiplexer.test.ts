import { describe, expect, it } from 'vitest';
import type { Reporter } from '../../harness/events.js';
import { multiplex } from '../../harness/event-multiplexer.js';
import { memoryStream, play, sampleRun } from './reporters/fixtures.js';

/** Records every call it receives, in order. */
function recorder(): { reporter: Reporter; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    reporter: {
      onRunStart: (run) => void calls.push(`runStart ${run.cases.length}`),
      onCaseStart: (info) => void calls.push(`caseStart ${info.id}`),
      onExchange: (id, e) => void calls.push(`exchange ${id} ${e.request.method}`),
      onCaseEnd: (r) => void calls.push(`caseEnd ${r.id} ${r.outcome}`),
      onRunEnd: async (report) => {
        await new Promise((done) => setTimeout(done, 1));
        calls.push(`runEnd ${report.summary.failed}`);
      },
    },
  };
}

const expectedCalls = (): string[] => {
  const run = sampleRun();
  return [
    'runStart 5',
    ...run.results.flatMap((r) => [`caseStart ${r.id}`, ...r.exchanges.map((e) => `exchange ${r.id} ${e.request.method}`), `caseEnd ${r.id} ${r.outcome}`]),
    'runEnd 1',
  ];
};

describe('multiplexer', () => {
  it('fans every event out to every reporter, in order, and awaits onRunEnd', async () => {
    const a = recorder();
    const b = recorder();
    const errors = memoryStream();
    await play(
      multiplex(
        [
          { name: 'a', reporter: a.reporter },
          { name: 'b', reporter: b.reporter },
        ],
        { errors },
      ),
      sampleRun(),
    );
    expect(a.calls).toEqual(expectedCalls());
    expect(b.calls).toEqual(expectedCalls());
    expect(errors.text()).toBe('');
  });

  it('drops a reporter that throws, says so once on stderr, and the others get every event', async () => {
    const before = recorder();
    const after = recorder();
    let thrown = 0;
    const broken: Reporter = {
      onCaseStart: () => {
        thrown += 1;
        throw new Error('disk on fire\nsecond line of detail');
      },
      onCaseEnd: () => {
        throw new Error('must not be called after being dropped');
      },
    };
    const errors = memoryStream();
    const reporter = multiplex(
      [
        { name: 'a', reporter: before.reporter },
        { name: 'the broken report', reporter: broken },
        { name: 'b', reporter: after.reporter },
      ],
      { errors },
    );
    await expect(play(reporter, sampleRun())).resolves.toBeUndefined();
    expect(thrown).toBe(1);
    expect(before.calls).toEqual(expectedCalls());
    expect(after.calls).toEqual(expectedCalls());
    expect(errors.text()).toBe('cmcard: the broken report failed in onCaseStart and was dropped: disk on fire\n');
  });

  it('survives an onRunEnd that rejects or throws synchronously, and still runs the later ones', async () => {
    const last = recorder();
    const errors = memoryStream();
    const reporter = multiplex(
      [
        { name: 'rejecting', reporter: { onRunEnd: async () => Promise.reject(new Error('EACCES: permission denied')) } },
        {
          name: 'throwing',
          reporter: {
            onRunEnd: () => {
              throw 'not even an Error';
            },
          },
        },
        { name: 'last', reporter: last.reporter },
      ],
      { errors },
    );
    await play(reporter, sampleRun());
    expect(last.calls.at(-1)).toBe('runEnd 1');
    expect(errors.text().split('\n').filter(Boolean)).toEqual([
      'cmcard: rejecting failed in onRunEnd and was dropped: EACCES: permission denied',
      'cmcard: throwing failed in onRunEnd and was dropped: not even an Error',
    ]);
  });

  it('calls onRunEnd in the order given, each after the previous finished', async () => {
    const order: string[] = [];
    const slow: Reporter = { onRunEnd: () => new Promise((done) => setTimeout(() => done(void order.push('slow file')), 20)) };
    const consoleLike: Reporter = { onRunEnd: () => void order.push('console') };
    await play(
      multiplex(
        [
          { name: 'slow', reporter: slow },
          { name: 'console', reporter: consoleLike },
        ],
        { errors: memoryStream() },
      ),
      sampleRun(),
    );
    expect(order).toEqual(['slow file', 'console']);
  });
});
