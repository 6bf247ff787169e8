import type { Redis } from 'ioredis';

/**
 * Pub/sub notices between app instances that keep shared state in memory (routing config,
 * number map, emergency mode): the instance that stored a change announces it on a channel,
 * every other one re-reads the stored state. A notice carries no state, only a tag (a
 * revision, the sender's id), so a lost or duplicated notice is harmless: the stored state is
 * the truth, re-read at the next notice or restart.
 */

/** Announces a stored change; a failed publish only delays the others until the next notice. */
export async function announceChange(redis: Redis, channel: string, tag: string): Promise<void> {
  await redis.publish(channel, tag).catch(() => 0);
}

/**
 * Calls `onChange` with the tag of every notice on `channel`. `subscriber` is a connection of
 * its own (a subscribed ioredis connection can do nothing else) and may follow several
 * channels; ioredis subscribes again after a reconnect.
 */
export async function followChanges(subscriber: Redis, channel: string, onChange: (tag: string) => void): Promise<void> {
  subscriber.on('message', (ch: string, tag: string) => {
    if (ch === channel) onChange(tag);
  });
  await subscriber.subscribe(channel);
}
