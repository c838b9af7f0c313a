export { configSchema, type Config, type ConfigInput, type ConfigKey } from './schema';
export { loadConfig, ConfigError, type LoadedConfig } from './load-config';
export { topologyConfigSchema, loadTopologyConfig, demoCredentialsInUse, type TopologyConfig, type CellConfig } from './topology-schema';
export { claimsConfigSection } from './sections/claims';
