/** The pure debate engine: specs, agent models, protocols, faults, the runner and its safety check. */
export { parseDebateSpec, debateSpecSchema, debateLimits, protocolNames, agentModelNames } from './spec.ts';
export type { DebateSpec, AgentSpec, AgentModelName, Question, Aggregation, Termination, Topology, Fault, JudgeSpec, ProtocolName } from './spec.ts';
export { runDebate, checkQuorum, formatAnswer, type QuorumViolation, type RunDebateOptions } from './debate.ts';
export { PromptNeeded, type ModelOracle, type ModelPrompt, type ModelReply } from './agents.ts';
export type { DebateOutcome, DebateRecord, ArgumentRecord, FaultRecord, VoteRecord, DecisionRecord, StopReason, FinalAnswer } from './records.ts';
export { debateEvents, debateRecordEvents, debateEventTypes, type DebateEvent } from './events.ts';
export { recalibrate, trimmedMean } from './aggregation.ts';
export { buildRoutes, listenersOf } from './protocols.ts';
