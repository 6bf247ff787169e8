import type { Redis } from 'ioredis';
import type { Offer } from './types.ts';

/**
 * Offers between app instances. Claim matches every waiting call, whichever instance owns the
 * caller's channel, but only the owner can originate the agent leg and bridge it: an offer the
 * claiming instance does not own is handed to its owner through a list of its own
 * (`<prefix>routing:offers:<owner>`, so an offer waits there while the owner is briefly away,
 * e.g. restarting) and a notice on `<prefix>routing:offers` wakes the owner to take it.
 */
export interface OfferRelayPort {
  /** Hands `offer` to its owner. */
  forward(offer: Offer): Promise<void>;
  /** The offers other instances handed to this one, oldest first. */
  take(): Promise<Offer[]>;
}

export class OfferRelay implements OfferRelayPort {
  private readonly redis: Redis;
  private readonly base: string;
  private readonly instanceId: string;

  constructor(redis: Redis, prefix: string, instanceId: string) {
    this.redis = redis;
    this.base = `${prefix}routing:`;
    this.instanceId = instanceId;
  }

  async forward(offer: Offer): Promise<void> {
    await this.redis.rpush(`${this.base}offers:${offer.owner}`, JSON.stringify(offer));
    await this.redis.publish(`${this.base}offers`, offer.owner);
  }

  async take(): Promise<Offer[]> {
    const items = await this.redis.lpop(`${this.base}offers:${this.instanceId}`, 100);
    return (items ?? []).map((s) => JSON.parse(s) as Offer);
  }

  /** Calls `onOffers` whenever another instance hands this one offers. `subscriber`: a connection for subscriptions. */
  async follow(subscriber: Redis, onOffers: () => void): Promise<void> {
    const channel = `${this.base}offers`;
    subscriber.on('message', (ch: string, owner: string) => {
      if (ch === channel && owner === this.instanceId) onOffers();
    });
    await subscriber.subscribe(channel);
  }
}
