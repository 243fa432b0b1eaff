// The reference CM server's public entry point (docs/reference-server.md).
export { BASE_PATH, PROVIDER_STATES_PATH } from './paths.js';
export { startReferenceServer, isLoopbackAddress, ProviderStatesOffLoopbackError, type ServerOptions, type RunningServer } from './server.js';
export {
  defaultSeed,
  describeSeed,
  loadSeedFile,
  validateSeed,
  applySeed,
  EXAMPLE,
  DEMO_TOKENS,
  type SeedData,
  type SeededCard,
  type SeedTemplate,
  type SeedRequest,
  type SeedSmartcard,
  type SeedPrincipal,
} from './seed.js';
export { Store, DEFAULT_MEMORY_AUDIT_ROWS, type AuditRecord, type AuditEntry, type AuditCounts, type StoreOptions } from './store.js';
export { NegotiateAuthenticator, parsePrincipalRoles, PRINCIPAL_ROLES, type NegotiateOptions, type PrincipalRoleName } from './auth-negotiate.js';
export { applyProviderState, PROVIDER_STATES } from './provider-states.js';
