import { parseGuid } from '../simulator/bytes.js';
import { sp800108Diversifier, type KeyDiversifier } from '../simulator/diversify.js';
import { ecbEncryptor } from '../simulator/tdes.js';

/** Bounded caches: a server sees a few templates and keys, a flood of made-up ones gets cleared. */
const MAX_CACHED = 1024;
const diversifiers = new Map<string, KeyDiversifier>();
const encryptors = new Map<string, (data: Uint8Array) => Buffer>();

/**
 * The admin response to a challenge under `key` (3DES-ECB, block by block). One kept cipher
 * context per key: creating an OpenSSL context was the largest single cost per request.
 */
export function adminResponse(key: Buffer, challenge: Buffer): Buffer {
  const id = key.toString('latin1');
  let encrypt = encryptors.get(id);
  if (!encrypt) {
    encrypt = ecbEncryptor(key);
    if (encryptors.size >= MAX_CACHED) encryptors.clear();
    encryptors.set(id, encrypt);
  }
  return encrypt(challenge);
}

/**
 * The card's diversified admin key: the explicitly stored one if any (the documented
 * example stores Microsoft's published key), else the simulator's SP 800-108 derivation
 * from the template's secret and the cardid. Undefined when the template does not diversify.
 */
export function diversifiedKeyOf(card: {
  cardid: string;
  storedDiversifiedKey: Buffer | null;
  diversify: boolean;
  diversificationSecret: Buffer | null;
}): Buffer | undefined {
  if (card.storedDiversifiedKey) return card.storedDiversifiedKey;
  if (!card.diversify || !card.diversificationSecret) return undefined;
  return diversifierFor(card.diversificationSecret).deriveKey(parseGuid(card.cardid));
}

function diversifierFor(secret: Buffer): KeyDiversifier {
  const id = secret.toString('hex');
  let d = diversifiers.get(id);
  if (!d) {
    if (diversifiers.size >= MAX_CACHED) diversifiers.clear();
    d = sp800108Diversifier(secret);
    diversifiers.set(id, d);
  }
  return d;
}
