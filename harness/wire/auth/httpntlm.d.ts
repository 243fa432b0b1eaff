// Types for the NTLM message codec of httpntlm (pinned in package.json), which ships none.
declare module 'httpntlm/ntlm.js' {
  export interface Type2Message {
    type: number;
    negotiateFlags: number;
    serverChallenge: Buffer;
    targetInfo?: Buffer;
  }
  export interface NtlmOptions {
    username?: string;
    password?: string;
    domain?: string;
    workstation?: string;
  }
  /** `NTLM <base64 NEGOTIATE_MESSAGE>` (40 bytes with the Version field, as strict servers require). */
  export function createType1Message(options: NtlmOptions): string;
  /** Reads `NTLM <base64 CHALLENGE_MESSAGE>`; calls back with an error and returns null when it is not one. */
  export function parseType2Message(raw: string, callback: (err: Error) => void): Type2Message | null;
  /** `NTLM <base64 AUTHENTICATE_MESSAGE>`: NTLMv2 when the challenge offers extended security and target info. */
  export function createType3Message(msg2: Type2Message, options: NtlmOptions): string;
}
