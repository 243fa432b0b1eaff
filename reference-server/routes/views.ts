import { requestTypeName } from '../model.js';
import type { RequestRow, SmartcardRow, TemplateRow } from '../store.js';

/** The JSON shapes the API returns, with MIM's field names. */

export function requestView(r: RequestRow): Record<string, unknown> {
  return {
    Uuid: r.uuid,
    RequestType: r.type,
    RequestTypeName: requestTypeName(r.type),
    Status: r.status,
    ProfileTemplateUuid: r.templateUuid,
    Comment: r.comment,
    DataCollection: r.dataCollection === null ? [] : (JSON.parse(r.dataCollection) as unknown),
    Priority: r.priority,
    IsSmartcard: true,
    OriginatorUserUuid: null,
    Submitted: r.submitted,
    Completed: r.completed,
    OldSmartcardUuid: r.oldSmartcardUuid,
    NewSmartcardUuid: r.newSmartcardUuid,
  };
}

export function smartcardView(s: SmartcardRow): Record<string, unknown> {
  return {
    Uuid: s.uuid,
    Status: s.status,
    SerialNumber: s.cardid,
    Middleware: 'MSBaseCSP',
    Atr: s.atr,
    ProfileTemplateUuid: s.templateUuid,
    RequestUuids: s.requestUuids,
    HasBaseCspAdminKey: s.baseCspAdminKey,
    Created: s.created,
  };
}

export function templateView(t: TemplateRow): Record<string, unknown> {
  return { Uuid: t.uuid, Name: t.name, IsSmartcardTemplate: true };
}

/** The smart card configuration of a template: includes the default admin key (sensitive). */
export function smartcardConfigurationView(t: TemplateRow): Record<string, unknown> {
  return {
    ProfileTemplateUuid: t.uuid,
    DefaultAdminKeyHex: t.defaultAdminKey.toString('hex'),
    DiversifyAdminKey: t.diversify,
    Middleware: 'MSBaseCSP',
  };
}

export function requestUri(uuid: string): string {
  return `api/v1.0/requests/${uuid}`;
}

export function smartcardUri(uuid: string): string {
  return `api/v1.0/smartcards/${uuid}`;
}
