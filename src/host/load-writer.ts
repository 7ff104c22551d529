/**
 * The load-writer process: appends seeded batches to an event log and acknowledges each commit
 * on stdout, until it is killed. Kill -9 trials and the complete-failure drill kill it for real
 * (see node/crash-trial.ts). Its configuration is one JSON argument.
 */
import { runLoadWriter, type LoadWriterConfig } from '../node/crash-trial.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as LoadWriterConfig;
if (typeof config.path !== 'string' || typeof config.seed !== 'number') {
  process.stderr.write('aura-lab load-writer: expects one JSON argument {"path": ..., "seed": ...}\n');
  process.exit(2);
}
runLoadWriter(config);
