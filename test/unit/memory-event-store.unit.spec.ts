import { MemoryEventStore } from '../../src/core/testing/memory-event-store.ts';
import { eventStoreContract } from '../contract/event-store.contract.ts';

eventStoreContract('in-memory', () => ({ store: new MemoryEventStore(), close: () => undefined }));
