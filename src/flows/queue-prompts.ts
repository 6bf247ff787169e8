/**
 * Prompts the queue node plays on its own (not named in the flow), so the validator can insist
 * that the catalog has them before a flow with a queue goes live.
 */
export const QUEUE_PROMPTS = {
  unavailable: 'agents_unavailable',
  /** "You are number" <position> "in the queue." */
  position: 'queue_position',
  positionEnd: 'queue_position_end',
  /** "Your estimated wait is about" <minutes> "minutes." */
  wait: 'queue_wait',
  minutes: 'queue_minutes',
  callbackConfirmed: 'callback_confirmed',
  callbackUnavailable: 'callback_unavailable',
} as const;
