/**
 * The embedded default: boots the reference server on a free loopback port and builds a
 * harness config from its seed, so `cmcard conformance` (and load mode) run with no setup.
 * The harness still talks to it only over HTTP.
 */
import { parseHex } from '../simulator/bytes.js';
import { defaultSeed, describeSeed, startReferenceServer, type SeedData } from '../reference-server/index.js';
import { DEFAULT_BASE_PATH, DEFAULT_TIMEOUT_MS, type CardConfig, type HarnessConfig } from './config.js';

export interface EmbeddedServer {
  config: HarnessConfig;
  close(): Promise<void>;
}

export async function startEmbedded(options: { timeoutMs?: number } = {}): Promise<EmbeddedServer> {
  const seed = defaultSeed();
  const server = await startReferenceServer({ host: '127.0.0.1', port: 0, quiet: true, seed });
  const config = seedConfig(seed, server.url, 'embedded reference server', options.timeoutMs);
  return { config, close: () => server.close() };
}

/** The harness config for a seed's cards and demo tokens on a server at `url` (lifecycle on). */
export function seedConfig(seed: SeedData, url: string, source: string, timeoutMs = DEFAULT_TIMEOUT_MS): HarnessConfig {
  const described = describeSeed(seed);
  const cards: CardConfig[] = described.cards.map((c) => ({
    name: c.name,
    reqid: c.reqid,
    scid: c.scid,
    cardid: c.cardid,
    atr: c.atr,
    adminKey: parseHex(c.adminKey, `seed card ${c.name} adminKey`),
    ...(c.diversifiedKey ? { diversifiedKey: parseHex(c.diversifiedKey, `seed card ${c.name} diversifiedKey`) } : {}),
  }));
  return {
    server: url,
    basePath: DEFAULT_BASE_PATH,
    headers: { Authorization: `Bearer ${described.tokens.helpdesk}` },
    forbiddenHeaders: { Authorization: `Bearer ${described.tokens.user}` },
    timeoutMs,
    lifecycle: true,
    cards,
    source,
  };
}
