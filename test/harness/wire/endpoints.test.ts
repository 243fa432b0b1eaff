import { describe, expect, it } from 'vitest';
import {
  authResponsePath,
  authResponseTemplate,
  carriesKeyMaterial,
  diversifiedKeyPath,
  normaliseBasePath,
  smartcardConfigurationPath,
} from '../../../harness/wire/endpoints.js';

// The documented example request (Microsoft's GET authenticationresponse page).
const REQID = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099';
const SCID = '17cf063d-e337-4aa9-a822-346554ddd3c9';
const CARDID = 'bc88f13f-83ba-4037-8262-46eba1291c6e';
const DOCUMENTED = `/certificatemanagement/api/v1.0/requests/${REQID}/smartcards/${SCID}/authenticationresponse?cardid=${CARDID}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`;

describe('every CM path is built in one place', () => {
  it('builds the documented example request byte for byte', () => {
    const challenge = Buffer.from('1hFD+cz/0so=', 'base64');
    expect(authResponsePath('/certificatemanagement/api/v1.0', { reqid: REQID, scid: SCID }, { cardid: CARDID, challenge, diversified: false })).toBe(
      DOCUMENTED,
    );
  });

  it('the load template is the same request with only the challenge appended', () => {
    const challenge = Buffer.from('1hFD+cz/0so=', 'base64');
    const t = authResponseTemplate('/certificatemanagement/api/v1.0', { reqid: REQID, scid: SCID, cardid: CARDID }, false);
    expect(t.prefix + encodeURIComponent(challenge.toString('base64')) + t.suffix).toBe(DOCUMENTED);
    const withAtr = authResponseTemplate('/b', { reqid: REQID, scid: SCID, cardid: CARDID, atr: '3b8d01' }, true);
    expect(withAtr.prefix + 'AA%3D%3D' + withAtr.suffix).toBe(
      authResponsePath('/b', { reqid: REQID, scid: SCID }, { cardid: CARDID, challenge: 'AA==', diversified: true, atr: '3b8d01' }),
    );
  });

  it('encodes ids as path segments and normalises base paths', () => {
    expect(diversifiedKeyPath('/b', { reqid: 'a/b', scid: 'c?d' }, 'x y')).toBe('/b/requests/a%2Fb/smartcards/c%3Fd/diversifiedkey?cardid=x%20y');
    expect(normaliseBasePath('CertificateManagement/api/v1.0/')).toBe('/CertificateManagement/api/v1.0');
    expect(normaliseBasePath('/')).toBe('');
  });

  it('knows which endpoints answer with key material', () => {
    expect(carriesKeyMaterial(diversifiedKeyPath('/b', { reqid: REQID, scid: SCID }, CARDID))).toBe(true);
    expect(carriesKeyMaterial(`http://h${smartcardConfigurationPath('/b', 'a039b4d0-5ce8-4eff-8651-181c6576fda3')}`)).toBe(true);
    expect(carriesKeyMaterial(DOCUMENTED)).toBe(false);
  });
});
