/** Seeded random logs of the lab's own event types, for the projection oracle tests. */
import type { NewEvent } from '../../src/core/events/event.ts';
import { labEventTypes } from '../../src/core/events/lab-events.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { createRandom, type Random } from '../../src/core/kernel/random.ts';
import { anyVersion, type StreamAppend } from '../../src/core/ports/event-store.ts';

let sequence = 0;

function event(random: Random, type: string, payload: NewEvent['payload'], virtualTimeUs: number): NewEvent {
  sequence += 1;
  return { id: asEventId(sequence.toString(16).padStart(16, '0') + random.hex128().slice(0, 16)), type, schemaVersion: 1, payload, metadata: { virtualTimeUs } };
}

/** `batches` batches of mixed events: workload, requests, debates, faults, and (optionally) poison. */
export function labLog(seed: number, batches: number, options: { poison?: boolean } = {}): StreamAppend[][] {
  const random = createRandom(seed);
  const debates: { id: string; agents: string[]; round: number }[] = [];
  const openFaults: string[] = [];
  let time = 0;
  const out: StreamAppend[][] = [];
  for (let batch = 0; batch < batches; batch++) {
    const appends: StreamAppend[] = [];
    const size = random.int(1, 60);
    for (let index = 0; index < size; index++) {
      time += random.int(0, 40_000);
      const pick = random.int(0, 99);
      const append = (stream: string, type: string, payload: NewEvent['payload']) => appends.push({ stream: asStreamName(stream), events: [event(random, type, payload, time)], expected: anyVersion });
      if (pick < 40) append(`order-${random.int(0, 30)}`, random.int(0, 1) === 0 ? 'OrderPlaced' : 'OrderShipped', { amount: random.int(1, 500) });
      else if (pick < 60) append(`api-${random.int(0, 3)}`, 'RequestCompleted', { latencyMs: random.int(1, 300), ok: random.int(0, 20) !== 0 });
      else if (pick < 65 || debates.length === 0) {
        const id = `debate-${seed}-${batch}-${index}`;
        const agents = Array.from({ length: random.int(2, 5) }, (_, agent) => `agent-${agent}`);
        debates.push({ id, agents, round: 1 });
        append(`debate-${id}`, labEventTypes.debateStarted, { debateId: id, question: 'is it an incident?', agents, protocol: 'simultaneous' });
      } else if (pick < 88) {
        const debate = debates[random.int(0, debates.length - 1)]!;
        const agent = debate.agents[random.int(0, debate.agents.length - 1)]!;
        if (random.int(0, 4) === 0) debate.round += 1;
        append(`debate-${debate.id}`, labEventTypes.argumentMade, { debateId: debate.id, agent, round: debate.round, answer: ['yes', 'no', 'maybe'][random.int(0, 2)]!, confidence: random.int(0, 100) / 100 });
      } else if (pick < 91) {
        const debate = debates[random.int(0, debates.length - 1)]!;
        append(`debate-${debate.id}`, random.int(0, 3) === 0 ? labEventTypes.consensusFailed : labEventTypes.consensusReached, { debateId: debate.id, answer: 'yes', round: debate.round, reason: 'rounds exhausted' });
      } else if (pick < 95 || openFaults.length === 0) {
        const faultId = `fault-${seed}-${batch}-${index}`;
        openFaults.push(faultId);
        append('$chaos', labEventTypes.faultInjected, { faultId, kind: 'partition', target: `peer-${random.int(0, 3)}` });
      } else {
        const faultId = openFaults.splice(random.int(0, openFaults.length - 1), 1)[0]!;
        append('$chaos', labEventTypes.faultCleared, { faultId });
      }
      if (options.poison === true && random.int(0, 150) === 0) {
        // Poison: a request whose latency is not a number (slo-status parks it and goes on).
        append(`api-${random.int(0, 3)}`, 'RequestCompleted', { latencyMs: 'slow', ok: true });
      }
    }
    out.push(appends);
  }
  return out;
}
