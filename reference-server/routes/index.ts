import type { Route } from '../route-types.js';
import { authenticationResponse, diversifiedKey } from './admin-key.js';
import { createRequest, getRequest, updateRequest } from './requests.js';
import { createSmartcard, findSmartcards, getSmartcard, updateSmartcard } from './smartcards.js';
import { listTemplates, templateSmartcardConfiguration } from './templates.js';

/** Every CM route the reference server serves, relative to BASE_PATH. */
export const allRoutes: readonly Route[] = [
  authenticationResponse,
  diversifiedKey,
  listTemplates,
  templateSmartcardConfiguration,
  createRequest,
  getRequest,
  updateRequest,
  createSmartcard,
  getSmartcard,
  findSmartcards,
  updateSmartcard,
];
