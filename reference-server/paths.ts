/** The CM API's base path, spelled as the MIM reference table spells it (routing ignores case). */
export { CM_BASE_PATH as BASE_PATH } from '../simulator/cm-api.js';

/** Where `--provider-states` serves Pact provider states: outside the CM base path, no auth. */
export const PROVIDER_STATES_PATH = '/_pact/provider-states';
