import { describe, expect, it } from 'vitest';
import {
  chunk,
  compareStreamIds,
  insertIsolating,
  isDataError,
  joinJsonArrays,
  retryDelay,
  spoolLines,
} from '../../src/records/event-batch.ts';

// The event writer's pure parts; the pipeline itself runs on real Redis and Postgres in
// test/integration/event-pipeline.test.ts and test/integration/postgres-outage.test.ts.
describe('event pipeline pieces', () => {
  it('joins stream entries into one JSON array without parsing them', () => {
    const joined = joinJsonArrays(['[{"id":1},{"id":2}]', '[]', '[{"id":3}]']);
    expect(JSON.parse(joined)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(joinJsonArrays([])).toBe('[]');
    expect(joinJsonArrays(['[]', '[]'])).toBe('[]');
  });

  it('treats only SQLSTATE classes 22 and 23 as the data being wrong', () => {
    expect(isDataError({ code: '23514' })).toBe(true); // check violation (seq 0)
    expect(isDataError({ code: '22P02' })).toBe(true); // invalid uuid / json text
    expect(isDataError({ code: '08006' })).toBe(false); // connection failure
    expect(isDataError({ code: '57P01' })).toBe(false); // admin shutdown
    expect(isDataError({ code: '42P01' })).toBe(false); // table missing (not migrated yet)
    expect(isDataError(new Error('ECONNREFUSED'))).toBe(false);
    expect(isDataError(null)).toBe(false);
  });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4].map((f) => retryDelay(f, 250, 5_000))).toEqual([250, 500, 1_000, 2_000]);
    expect(retryDelay(50, 250, 5_000)).toBe(5_000);
    expect(retryDelay(0, 250, 5_000)).toBe(250);
  });

  it('isolates the events Postgres refuses and inserts all the others', async () => {
    const stored: number[] = [];
    const bad = new Set([3, 8, 9]);
    const insert = async (items: readonly number[]) => {
      if (items.some((i) => bad.has(i))) throw Object.assign(new Error(`refused ${items.find((i) => bad.has(i))}`), { code: '23514' });
      stored.push(...items);
    };
    const items = Array.from({ length: 12 }, (_, i) => i + 1);
    const rejected = await insertIsolating(items, insert);
    expect(rejected.map((r) => r.item)).toEqual([3, 8, 9]);
    expect(rejected[0]!.error).toBe('refused 3');
    expect(stored.sort((a, b) => a - b)).toEqual(items.filter((i) => !bad.has(i)));
  });

  it('lets a transient error through so the whole batch is retried', async () => {
    const down = Object.assign(new Error('connection terminated'), { code: '08006' });
    await expect(insertIsolating([1, 2], async () => Promise.reject(down))).rejects.toBe(down);
  });

  it('reads the whole lines of a spool file and drops a torn tail and garbage', () => {
    const text = '[{"id":"a"},{"id":"b"}]\n[{"id":"c"}]\nnot json\n{"id":"d"}\n[{"id":"e"},{"i';
    const { lines, dropped } = spoolLines(text);
    expect(lines).toEqual([
      { events: '[{"id":"a"},{"id":"b"}]', count: 2 },
      { events: '[{"id":"c"}]', count: 1 },
    ]);
    expect(dropped).toBe(3);
    expect(spoolLines('')).toEqual({ lines: [], dropped: 0 });
  });

  it('orders stream ids numerically', () => {
    expect(compareStreamIds('1700000000000-10', '1700000000000-9')).toBeGreaterThan(0);
    expect(compareStreamIds('999-0', '1000-0')).toBeLessThan(0);
    expect(compareStreamIds('5-1', '5-1')).toBe(0);
  });

  it('splits a batch into entries of a bounded size, in order', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 2)).toEqual([]);
  });
});
