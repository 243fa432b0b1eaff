import { notFound } from '../http-error.js';
import { json, NO_CONTENT, type Route } from '../route-types.js';
import { guidParam, parseQuery } from '../validate.js';
import { smartcardConfigurationView, templateView } from './views.js';

export const listTemplates: Route = {
  method: 'GET',
  path: '/profiletemplates',
  role: 'any',
  what: 'list profile templates',
  handle(call) {
    parseQuery(call.rawQuery, []);
    const all = call.store.listTemplates();
    return all.length === 0 ? NO_CONTENT : json(200, all.map(templateView));
  },
};

/** Holds DefaultAdminKeyHex, so it needs the sensitive role and is audited like a key hand-out. */
export const templateSmartcardConfiguration: Route = {
  method: 'GET',
  path: '/profiletemplates/:id/configuration/smartcards',
  role: 'sensitive',
  what: 'read smart card configurations (they hold the default admin key)',
  audit: 'template-configuration',
  handle(call) {
    parseQuery(call.rawQuery, []);
    const id = guidParam(call.params.id, 'id');
    call.audit.detail = `profile template ${id}`;
    const t = call.store.getTemplate(id);
    if (!t) throw notFound(`profile template ${id} not found`);
    return json(200, smartcardConfigurationView(t));
  },
};
