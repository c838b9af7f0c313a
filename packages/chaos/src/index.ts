export { SCENARIOS, type Scenario } from './scenarios';
export { runScenario, FULL, SHORT, type RunResult, type RunSize } from './run-scenario';
export { startFaultProxy, type FaultProxy, type ProxyMode } from './fault-proxy';
export { lossCounters, type LossCounters } from './check';
