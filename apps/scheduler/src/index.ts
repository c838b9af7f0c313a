export { startSchedulerLoop, type SchedulerLoop } from './scheduler-loop';
