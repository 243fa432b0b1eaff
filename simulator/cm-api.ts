/**
 * The one fact about the CM REST API that every part of cmcard shares: its base path, as
 * Microsoft's reference table spells it (servers route it case-insensitively). It sits in
 * the simulator because that is the one module every other part may import.
 */
export const CM_BASE_PATH = '/CertificateManagement/api/v1.0';
