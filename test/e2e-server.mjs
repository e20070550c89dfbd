// The service under test of test/e2e-overload.test.ts (and nothing else): a Fastify server on 127.0.0.1 with one
// CPU-bound, gear-dependent handler. Run as a child process with an IPC channel; it sends `{ port }` once listening.
//   MODE=gearshift  the handler's work follows the regulator's gear of point `depth`
//   MODE=bare       no gearshift at all: always the full work (what the service does without it)
// UNIT_MS: CPU time per gear step (default 1); GEARS: number of gears (default 8): full gear costs GEARS × UNIT_MS.
import Fastify from 'fastify';
import { createGearshift } from 'gearshift';
import { gearshiftPlugin } from 'gearshift/fastify';
import { work } from './burn-cpu.mjs';

const mode = process.env.MODE ?? 'gearshift';
const unitMs = Number(process.env.UNIT_MS ?? 1);
const gears = Number(process.env.GEARS ?? 8);
const budgetMs = Number(process.env.BUDGET_MS ?? 100);
const periodMs = Number(process.env.PERIOD_MS ?? 200);


const app = Fastify();
let engine = null;
if (mode === 'gearshift') {
  engine = createGearshift({
    config: {
      sense: {
        rt: { slots: 8, slotMs: periodMs },
        outcomes: { slots: 8, slotMs: periodMs },
        process: { eventLoopUtilization: { periodMs, samples: 8 }, eventLoopDelay: { periodMs, samples: 8 }, cpu: { periodMs, samples: 8 } },
      },
      // Process goals are what sees a saturated event loop (requests queued in socket buffers have no RT yet);
      // a short period and a firmer cut so the test converges in about a second.
      regulator: {
        periodMs,
        goals: { elu: { target: Number(process.env.ELU ?? 0.8) }, eventLoopDelayMs: { target: Number(process.env.ELD_MS ?? 40) } },
        control: { kp: 0.3, ki: 0.4, maxDownPerTick: 0.4 },
      },
      scenes: {
        rank: {
          rtBudgetMs: budgetMs,
          versions: { main: { stage: 'base' } },
          points: { depth: { gears: Array.from({ length: gears }, (_, i) => i + 1) } },
          goals: { timeoutRate: { target: 0.01 } },
        },
      },
    },
  });
  await app.register(gearshiftPlugin, { engine, scene: { value: 'rank' } });
  app.get('/', (request, reply) => {
    const depth = request.gearshift.gear('depth');
    work(depth * unitMs);
    reply.send({ depth });
  });
} else {
  app.get('/', (_request, reply) => {
    work(gears * unitMs);
    reply.send({ depth: gears });
  });
}
await app.listen({ port: 0, host: '127.0.0.1' });
process.on('message', (m) => {
  if (m?.cmd === 'stats') {
    const changes = engine ? engine.regulator.changes().map((c) => ({ at: Math.round(c.at), from: c.from, to: c.to, reason: c.reason, goal: c.goal, measured: c.measured })) : [];
    process.send({ stats: engine?.stats('rank') ?? null, gear: engine ? engine.route('rank').gearIndex('depth') : gears - 1, changes });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ port: app.server.address().port });
