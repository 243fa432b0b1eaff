import { parseGuid } from '../simulator/bytes.js';
import { sp800108Diversifier, type KeyDiversifier } from '../simulator/diversify.js';

const diversifiers = new Map<string, KeyDiversifier>();

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
    if (diversifiers.size > 1000) diversifiers.clear();
    d = sp800108Diversifier(secret);
    diversifiers.set(id, d);
  }
  return d;
}
