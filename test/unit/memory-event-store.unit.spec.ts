import { MemoryEventStore } from '../../src/core/testing/memory-event-store.ts';
import { eventStoreContract } from '../contract/event-store.contract.ts';

eventStoreContract('in-memory', (options) => ({ store: new MemoryEventStore(options?.upcasters), close: () => undefined }));
