/** The CM API's base path, spelled as the MIM reference table spells it (routing ignores case). */
export const BASE_PATH = '/CertificateManagement/api/v1.0';
