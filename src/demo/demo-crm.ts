import Fastify from 'fastify';

/**
 * A stand-in CRM for development and tests, served on its own loopback port (it is not part
 * of Hotline's API). Deterministic by caller number: numbers ending in 8888 are VIP; the
 * balance is the last three digits, in yuan. Numbers ending in 7777 answer after
 * {@link SLOW_ANSWER_MS} (still inside the shipped flows' 1,500 ms timeout): a slow CRM, so
 * tests can press keys while a lookup waits (type-ahead).
 */
export const SLOW_ANSWER_MS = 1_200;

export function buildDemoCrm() {
  const app = Fastify({ logger: false });
  app.get<{ Params: { number: string } }>('/customers/:number', async (req, reply) => {
    const n = req.params.number;
    if (!/^\+?[0-9]{5,20}$/.test(n)) return reply.status(404).send({ error: 'not_found' });
    if (n.endsWith('7777')) await new Promise((r) => setTimeout(r, SLOW_ANSWER_MS));
    return {
      number: n,
      tier: n.endsWith('8888') ? 'vip' : 'normal',
      balance: Number(n.slice(-3)),
      plan: 'monthly-58',
    };
  });
  return app;
}
