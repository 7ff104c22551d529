/**
 * A lab process that edits its session until it is killed, for the durability tests:
 * `node --import tsx session-writer.ts <dataDir> <prefix> <seedCount>`. It opens the session under
 * `<dataDir>`, adds `<seedCount>` annotations in one change (to make saves and compactions take a
 * while), then adds one annotation per change forever. After each `flush()` it reports, over the
 * IPC channel, the ids of every annotation that is now acknowledged: `{ acked: string[] }`.
 */
import { addAnnotation } from '../../src/node/session/session-doc.ts';
import { SessionRepo } from '../../src/node/session/session-repo.ts';

const [dataDir, prefix, seedText] = process.argv.slice(2) as [string, string, string];
const seedCount = Number(seedText);
const note = (i: number): { runId: string; position: number; author: string; text: string; createdAtMs: number } => ({ runId: 'run-1', position: 1 + i, author: 'writer', text: `${prefix} note ${i}: the queue backs up here`, createdAtMs: 1_700_000_000_000 + i });

const session = await SessionRepo.open({ dataDir, title: 'Durability' });
process.send?.({ opened: true });
const seeded: string[] = [];
session.change((doc) => {
  for (let i = 0; i < seedCount; i += 1) {
    addAnnotation(doc, `${prefix}-seed-${i}`, note(i));
    seeded.push(`${prefix}-seed-${i}`);
  }
});
await session.flush();
process.send?.({ acked: seeded });
for (let i = 0; ; i += 1) {
  const id = `${prefix}-${i}`;
  session.change((doc) => addAnnotation(doc, id, note(seedCount + i)));
  // Every other change is acknowledged by its own flush; the others ride on the next flush.
  if (i % 2 === 1) {
    await session.flush();
    process.send?.({ acked: [`${prefix}-${i - 1}`, id] });
  }
}
