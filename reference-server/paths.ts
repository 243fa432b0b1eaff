/** The CM API's base path, spelled as the MIM reference table spells it (routing ignores case). */
export const BASE_PATH = '/CertificateManagement/api/v1.0';

/** Where `--provider-states` serves Pact provider states: outside the CM base path, no auth. */
export const PROVIDER_STATES_PATH = '/_pact/provider-states';
