import { describe, expect, it } from 'vitest';
import { isAriSpecLoadFailure } from '../../src/telephony/ari/ari-telephony.ts';

describe('the ari-client start-up crash guard', () => {
  it('recognises only swagger-client failing to load the ARI description', () => {
    // As thrown by swagger-client when Asterisk answers 503 while it starts (seen in CI).
    expect(isAriSpecLoadFailure('503 : undefined http://127.0.0.1:28088/ari/api-docs/resources.json')).toBe(true);
    expect(isAriSpecLoadFailure('404 : undefined http://10.0.0.5:8088/ari/api-docs/channels.json')).toBe(true);
    // Seen in CI when Asterisk was half up: a 404 for the description.
    expect(isAriSpecLoadFailure("Can't read swagger JSON from http://127.0.0.1:28088/ari/api-docs/resources.json")).toBe(true);
    expect(isAriSpecLoadFailure("Unable to read api 'channels' from path http://h:8088/ari/api-docs/channels.json (server returned Service Unavailable)")).toBe(true);
    expect(isAriSpecLoadFailure("Can't read from server.  It may not have the appropriate access-control-origin settings.")).toBe(true);
    expect(isAriSpecLoadFailure(new Error('503 : undefined http://x/ari/api-docs/resources.json'))).toBe(false);
    expect(isAriSpecLoadFailure('something else')).toBe(false);
    expect(isAriSpecLoadFailure(undefined)).toBe(false);
  });
});
