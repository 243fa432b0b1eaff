/**
 * The numbers and names of the MIM CM object model that the API carries. Enroll=1,
 * Unblock=5, Approved=3 and Completed=8 are documented (docs/protocol.md#request-lifecycle); the other
 * values follow the order of the documented enumerations and are our choice.
 */
export const REQUEST_TYPES = {
  Enroll: 1,
  Duplicate: 2,
  Renew: 3,
  Recover: 4,
  Unblock: 5,
  Retire: 6,
  Revoke: 7,
  OfflineUnblock: 8,
  Reinstate: 9,
  Suspend: 10,
} as const;
export type RequestTypeName = keyof typeof REQUEST_TYPES;

export const REQUEST_STATUS = {
  None: 0,
  Pending: 1,
  Denied: 2,
  Approved: 3,
  Executing: 4,
  Failed: 5,
  Canceled: 6,
  Abandoned: 7,
  Completed: 8,
} as const;
export type RequestStatusName = keyof typeof REQUEST_STATUS;

/** Statuses after which a request hands out no more responses or keys. */
export const CLOSED_STATUSES: ReadonlySet<number> = new Set([
  REQUEST_STATUS.Denied,
  REQUEST_STATUS.Failed,
  REQUEST_STATUS.Canceled,
  REQUEST_STATUS.Abandoned,
  REQUEST_STATUS.Completed,
]);

/** What PUT /requests/{id} may set (docs/protocol.md#request-lifecycle). */
export const SETTABLE_REQUEST_STATUSES: readonly RequestStatusName[] = ['Completed', 'Canceled', 'Abandoned'];

export const SMARTCARD_STATUSES = ['Assigned', 'InUse', 'Disabled', 'Retired'] as const;
export type SmartcardStatus = (typeof SMARTCARD_STATUSES)[number];

/** Roles a principal may hold. `sensitive` is MIM CM's "sensitive API group". */
export const ROLES = ['sensitive', 'manage'] as const;
export type Role = (typeof ROLES)[number];

export function requestTypeName(n: number): string {
  return (Object.keys(REQUEST_TYPES) as RequestTypeName[]).find((k) => REQUEST_TYPES[k] === n) ?? String(n);
}

export function requestStatusName(n: number): string {
  return (Object.keys(REQUEST_STATUS) as RequestStatusName[]).find((k) => REQUEST_STATUS[k] === n) ?? String(n);
}
