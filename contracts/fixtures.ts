/**
 * The cards, challenges and answers the pact pins. Exact values come from docs/protocol.md
 * (sections 2, 3 and 6), never from our own output; the other ids are arbitrary but fixed,
 * so the pact file is stable.
 */

/** What a provider state needs to create a card (params of `a smart card with a Base CSP admin key`). */
export interface CardFixture {
  reqid: string;
  scid: string;
  cardid: string;
  /** Hex, 48 digits: the template default key, used for diversified=false. */
  adminKey: string;
  /** Hex, 48 digits: the card's diversified key, used for diversified=true. */
  diversifiedKey?: string;
  atr?: string;
}

export { CM_BASE_PATH as BASE_PATH } from '../simulator/cm-api.js';
/** The documented example request spells the path in lower case (docs/protocol.md#the-documented-example). */
export const LOWER_CASE_BASE_PATH = '/certificatemanagement/api/v1.0';

/** The documented example: ids, all-zero default key, the documented diversified key. */
export const EXAMPLE_CARD: CardFixture = {
  reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
  scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
  cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
  adminKey: '00'.repeat(24),
  diversifiedKey: '981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408',
};

export const EXAMPLE = {
  challenge: '1hFD+cz/0so=',
  /** 3DES-ECB(24 zero bytes, challenge): the documented answer. */
  response: 'F0Zudm4wPLY=',
  /** The documented diversifiedkey answer for the example card. */
  diversifiedKey: 'mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI',
  /** 3DES-ECB(documented diversified key, challenge): docs/protocol.md#known-answer-vectors. */
  diversifiedResponse: 'xdUoVecIEg0=',
} as const;

/**
 * A card on a non-weak key (the TPM virtual smart card default, docs/protocol.md#diversified-keys): the
 * all-zero key is a DES weak key, so only a card like this tells encryption from decryption.
 */
export const NON_WEAK_CARD: CardFixture = {
  reqid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f001',
  scid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f002',
  cardid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f003',
  adminKey: '0102030405060708'.repeat(3),
  // A true 3-key key with DES odd parity (checked in test/contracts/fixtures.test.ts).
  diversifiedKey: 'b91cce8aa18320832f3befd38608707fb9d38fd5c46b1325',
  atr: '3b8d0180fba000000397425446590301c8',
};

/** docs/protocol.md#known-answer-vectors, row 3: key 0102...08 x3, challenge 1603ebdf1c8a2e72 -> f940671512cd0dff. */
export const NON_WEAK = {
  challengeHex: '1603ebdf1c8a2e72',
  challenge: 'FgPr3xyKLnI=',
  responseHex: 'f940671512cd0dff',
  response: '+UBnFRLNDf8=',
} as const;

/** A second card, so that ids can be mismatched across two real cards. */
export const OTHER_CARD: CardFixture = {
  reqid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f011',
  scid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f012',
  cardid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f013',
  adminKey: '67a2e5192f9b1f947567ce8cda8c075b255b4364e343ab6b',
};

/** A smart card with no Base CSP admin key: the endpoint answers 204. */
export const KEYLESS_CARD = {
  reqid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f021',
  scid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f022',
  cardid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f023',
} as const;

/** An approved request (Status 3, docs/protocol.md#request-lifecycle) the lifecycle interactions read and complete. */
export const APPROVED_REQUEST = { reqid: '5b0d7a52-3c1e-4f7a-9d2b-0c6e8a41f031', status: 3 } as const;

/**
 * The callers the pact's requests carry. A server under verification may replace them
 * (`cmcard verify-pact --header ... --forbidden-header ...`).
 */
export const CALLERS = {
  helpdesk: 'Bearer demo-helpdesk',
  noRights: 'Bearer demo-user',
} as const;
export type Caller = 'helpdesk' | 'noRights' | 'anonymous';

/**
 * Tags the pact carries on interactions (in each interaction's V4 `comments.tags`), so a
 * verification can leave a group out: `lifecycle` marks the request lifecycle of the unlock
 * flow (create, read, complete a request), which a server without request management lacks.
 */
export const TAG = { lifecycle: 'lifecycle' } as const;
export type Tag = (typeof TAG)[keyof typeof TAG];

// Names of the pact, here rather than in interactions.ts so reading a pact file does not
// load Pact's native core (a second of start-up for every cmcard command).
export const CONSUMER = 'cmcard';
export const PROVIDER = 'mim-cm';
export const PACT_FILE_NAME = `${CONSUMER}-${PROVIDER}.json`;
