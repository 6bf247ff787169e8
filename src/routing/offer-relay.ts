import type { Redis } from 'ioredis';
import { announceChange, followChanges } from '../redis/change-notices.ts';
import { LuaScript } from './lua-scripts.ts';
import type { Offer } from './types.ts';

/**
 * Offers between app instances. Claim matches every waiting call, whichever instance owns the
 * caller's channel, but only the owner can originate the agent leg and bridge it: an offer the
 * claiming instance does not own is handed to its owner through a list of its own
 * (`<prefix>routing:offers:<owner>`, so an offer waits there while the owner is briefly away,
 * e.g. restarting). The claim script pushes it there itself, in the step that makes the agent
 * ring (RoutingStore.claim with the claiming instance's id): an instance that dies right after
 * its claim cannot leave an agent ringing for an offer nobody holds. The claiming instance then
 * announces it on `<prefix>routing:offers`, which wakes the owner to take it; the owner also
 * takes its list after each of its beats, so a lost notice delays an offer by a beat at most.
 *
 * A running instance beats every 5 s in the hash `<prefix>routing:instances` (id -> ms). An
 * owner whose last beat is older than 30 s is gone (crashed for good, scaled away): an offer
 * handed to it would ring its agent forever, so the claiming instance serves it itself (a
 * callback request it can rebuild from Redis) or ends it. An owner with no beat at all (a
 * version before the beat, during a rolling deploy) is not judged: its offers are handed over.
 * The instance that judges an owner gone also takes the offers handed to it before (in its
 * last 30 s), which nobody would take otherwise. Owners gone with something left to clear are
 * also found on each beat (goneToSweep), so nothing waits for a claim to find them.
 */
export interface OfferRelayPort {
  /** Wakes `owner` to take the offers claim pushed on its list (a lost notice: its next beat takes them). */
  announce(owner: string): Promise<void>;
  /** The offers other instances handed to this one, oldest first. */
  take(): Promise<Offer[]>;
  /** Whether `owner` beat once and then stopped for longer than a restart takes. */
  gone(owner: string): Promise<boolean>;
  /** Up to 100 of the offers handed to `owner`, oldest first, taken only while it is gone (none once it beats again). */
  takeGone(owner: string): Promise<Offer[]>;
  /**
   * Owners gone (this one aside) with something left to clear: offers in their list, rings
   * not released since they fell silent (RoutingStore.releaseGoneOwnerRings, which records in
   * `<prefix>routing:rings-freed` the last beat it ran for), or agents still on a call whose
   * legs they held (`<prefix>routing:talks:<owner>`, RoutingStore.goneOwnerTalks): such an owner
   * is listed on every beat until its agents have hung up.
   */
  goneToSweep(): Promise<string[]>;
}

const BEAT_MS = 5_000;
/** An owner silent for longer than this is gone (far longer than a restart takes). */
export const OWNER_GONE_MS = 30_000;
const TAKE_MAX = 100;

/**
 * takeGone: ARGV[1] key base, [2] owner, [3] beats before this (ms) are gone, [4] count. The
 * check and the pops are one step, so an owner that beats again (restarted) keeps its list,
 * and instances that drain the same list at once each pop different offers.
 */
const TAKE_GONE = new LuaScript(
  'take-gone',
  `local last = redis.call('HGET', ARGV[1] .. 'instances', ARGV[2])
if not last or tonumber(last) >= tonumber(ARGV[3]) then return {} end
return redis.call('LPOP', ARGV[1] .. 'offers:' .. ARGV[2], ARGV[4]) or {}`,
);

/**
 * goneToSweep: ARGV[1] key base, [2] this instance, [3] beats before this (ms) are gone. One
 * read of the beats, then up to three small reads per gone owner only: what each beat costs.
 */
const GONE_TO_SWEEP = new LuaScript(
  'gone-to-sweep',
  `local out, beats = {}, redis.call('HGETALL', ARGV[1] .. 'instances')
for i = 1, #beats, 2 do
  local owner, last = beats[i], beats[i + 1]
  if owner ~= ARGV[2] and tonumber(last) < tonumber(ARGV[3])
    and (redis.call('LLEN', ARGV[1] .. 'offers:' .. owner) > 0 or redis.call('HGET', ARGV[1] .. 'rings-freed', owner) ~= last
      or redis.call('SCARD', ARGV[1] .. 'talks:' .. owner) > 0) then
    out[#out + 1] = owner
  end
end
return out`,
);

export class OfferRelay implements OfferRelayPort {
  private readonly redis: Redis;
  private readonly base: string;
  private readonly instanceId: string;
  private readonly now: () => number;
  private beat: NodeJS.Timeout | null = null;

  constructor(redis: Redis, prefix: string, instanceId: string, now: () => number = Date.now) {
    this.redis = redis;
    this.base = `${prefix}routing:`;
    this.instanceId = instanceId;
    this.now = now;
  }

  /**
   * Beats now and every 5 s until stop(). `afterBeat` runs after each beat that was written
   * (routing takes its own list and sweeps gone owners, RoutingService.afterBeat): the beat is
   * the only periodic work, so neither adds a loop of its own, and they run only while this
   * instance counts as alive. Its failure is its own to report: it never stops the beat.
   */
  async start(afterBeat?: () => Promise<void>): Promise<void> {
    const beat = async () => {
      await this.redis.hset(`${this.base}instances`, this.instanceId, String(this.now()));
      await afterBeat?.().catch(() => undefined);
    };
    await beat();
    this.beat = setInterval(() => void beat().catch(() => undefined), BEAT_MS);
    this.beat.unref();
  }

  /** Stops beating; the last beat stays, so a restart within 30 s finds its offers still handed to it. */
  stop(): void {
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
  }

  async gone(owner: string): Promise<boolean> {
    const last = await this.redis.hget(`${this.base}instances`, owner);
    return last !== null && this.now() - Number(last) > OWNER_GONE_MS;
  }

  async takeGone(owner: string): Promise<Offer[]> {
    const items = (await TAKE_GONE.run(this.redis, [this.base, owner, this.now() - OWNER_GONE_MS, TAKE_MAX])) as string[];
    return items.map((s) => JSON.parse(s) as Offer);
  }

  async goneToSweep(): Promise<string[]> {
    return (await GONE_TO_SWEEP.run(this.redis, [this.base, this.instanceId, this.now() - OWNER_GONE_MS])) as string[];
  }

  async announce(owner: string): Promise<void> {
    await announceChange(this.redis, `${this.base}offers`, owner);
  }

  async take(): Promise<Offer[]> {
    const items = await this.redis.lpop(`${this.base}offers:${this.instanceId}`, TAKE_MAX);
    return (items ?? []).map((s) => JSON.parse(s) as Offer);
  }

  /** Calls `onOffers` whenever another instance hands this one offers. `subscriber`: a connection for subscriptions. */
  async follow(subscriber: Redis, onOffers: () => void): Promise<void> {
    await followChanges(subscriber, `${this.base}offers`, (owner) => {
      if (owner === this.instanceId) onOffers();
    });
  }
}
