import type { Route } from '../route.js';
import { authenticationResponse, diversifiedKey } from './admin-key.js';

/** Every CM route the reference server serves, relative to BASE_PATH. */
export const allRoutes: readonly Route[] = [authenticationResponse, diversifiedKey];
