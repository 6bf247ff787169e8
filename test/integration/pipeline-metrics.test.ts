import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHotline } from './helpers/app.ts';
import { waitUntil } from './helpers/wait.ts';

/** The event pipelines' backlogs are on /metrics, per stream, read from Redis at scrape time. */
describe('event pipeline backlog metrics', () => {
  let app: Awaited<ReturnType<typeof startTestHotline>>;
  beforeAll(async () => {
    app = await startTestHotline('pipeline-metrics', {});
  });
  afterAll(async () => {
    await app?.stop();
  });

  const gauge = (text: string, name: string, stream: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{stream="${stream}"} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it('shows the raw and fold backlog of call_events and ops_events, drained to 0 when idle', async () => {
    let text = '';
    await waitUntil(async () => {
      const res = await app.hotline.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      text = res.body;
      return ['call_events', 'ops_events'].every(
        (s) => gauge(text, 'hotline_event_backlog', s) === 0 && gauge(text, 'hotline_event_fold_backlog', s) === 0,
      );
    }, 20_000, () => `backlogs not drained to 0:\n${text.split('\n').filter((l) => l.startsWith('hotline_event')).join('\n')}`);
    for (const s of ['call_events', 'ops_events']) {
      expect(gauge(text, 'hotline_event_backlog', s)).toBe(0);
      expect(gauge(text, 'hotline_event_fold_backlog', s)).toBe(0);
    }
    expect(text).toContain('# HELP hotline_event_fold_backlog events in Postgres not yet folded');
  });
});
