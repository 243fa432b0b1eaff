/**
 * Which interactions of a pact a verification hands to Pact's verifier, and why each of the
 * others is skipped: first the user's choice (by description, by tag), then what the run can
 * set up (provider states, the caller without rights). Pure: no I/O.
 */
import { isDeepStrictEqual } from 'node:util';
import { InputError } from '../simulator/errors.js';
import { EXAMPLE_CARD } from './fixtures.js';
import { callerOf, statesOf, tagsOf, type PactDocument, type PactInteraction } from './pact-file.js';
import { cardWithKey } from './states.js';

/** The user's choice of interactions. Each kind given narrows the run; none given: all. */
export interface InteractionChoice {
  /** Run only interactions whose description matches one of these. */
  only?: RegExp[];
  /** Leave out interactions whose description matches one of these. */
  skip?: RegExp[];
  /** Run only interactions carrying one of these tags (the pact's `comments.tags`). */
  onlyTags?: string[];
  /** Leave out interactions carrying one of these tags. */
  skipTags?: string[];
}

/** What the run can set up on the server. */
export interface RunSetup {
  /** A state-change URL is given: every provider state can be set up. */
  statesUrl: boolean;
  /** The server already holds the documented example card: its interactions need no state-change URL. */
  documentedExample: boolean;
  /** The help-desk caller's credentials are replaced (--header). */
  helpdeskReplaced: boolean;
  /** The no-rights caller's credentials are given (--forbidden-header). */
  forbiddenGiven: boolean;
}

export interface PlannedInteraction {
  interaction: PactInteraction;
  /** Why it is not handed to the verifier; undefined when it is. */
  skip?: string;
}

/**
 * Throws a usage error for a choice that cannot mean what the user wants: a pattern that
 * matches no description, a tag no interaction carries (a typo, or a pact that changed).
 */
export function checkChoice(pact: PactDocument, choice: InteractionChoice): void {
  const descriptions = pact.interactions.map((i) => i.description);
  for (const [flag, patterns] of [
    ['--only', choice.only],
    ['--skip', choice.skip],
  ] as const) {
    for (const p of patterns ?? []) {
      if (!descriptions.some((d) => matches(p, d))) throw new InputError(`${flag} '${p.source}' matches no interaction description of the pact`);
    }
  }
  const known = [...new Set(pact.interactions.flatMap(tagsOf))].sort();
  for (const [flag, tags] of [
    ['--only-tag', choice.onlyTags],
    ['--skip-tag', choice.skipTags],
  ] as const) {
    for (const t of tags ?? []) {
      if (!known.includes(t))
        throw new InputError(`${flag} '${t}' is not a tag of the pact (${known.length > 0 ? `its tags: ${known.join(', ')}` : 'it has none'})`);
    }
  }
}

export function planInteractions(pact: PactDocument, choice: InteractionChoice, setup: RunSetup): PlannedInteraction[] {
  return pact.interactions.map((interaction) => {
    const skip = notChosen(interaction, choice) ?? cannotSetUp(interaction, setup);
    return skip === undefined ? { interaction } : { interaction, skip };
  });
}

function notChosen(interaction: PactInteraction, choice: InteractionChoice): string | undefined {
  const { description } = interaction;
  const tags = tagsOf(interaction);
  if (choice.only !== undefined && choice.only.length > 0 && !choice.only.some((p) => matches(p, description)))
    return 'not chosen: no --only pattern matches its description';
  const skipped = choice.skip?.find((p) => matches(p, description));
  if (skipped !== undefined) return `not chosen: --skip '${skipped.source}' matches its description`;
  if (choice.onlyTags !== undefined && choice.onlyTags.length > 0 && !choice.onlyTags.some((t) => tags.includes(t))) {
    return `not chosen: it carries no --only-tag tag (${tags.length > 0 ? `its tags: ${tags.join(', ')}` : 'it has none'})`;
  }
  const skippedTag = choice.skipTags?.find((t) => tags.includes(t));
  if (skippedTag !== undefined) return `not chosen: tagged ${skippedTag} (--skip-tag ${skippedTag})`;
  return undefined;
}

function cannotSetUp(interaction: PactInteraction, setup: RunSetup): string | undefined {
  const states = statesOf(interaction);
  if (states.length > 0 && !setup.statesUrl && !(setup.documentedExample && providedByDocumentedExample(interaction))) {
    const names = states.map((s) => JSON.stringify(s)).join(' and ');
    if (setup.documentedExample) return `needs provider state ${names}, which the documented example does not provide: give a state-change URL (--states-url)`;
    const alternative = providedByDocumentedExample(interaction) ? ', or --documented-example if the server holds the documented example card' : '';
    return `needs provider state ${names}: give a state-change URL (--states-url)${alternative}`;
  }
  if (callerOf(interaction) === 'noRights' && setup.helpdeskReplaced && !setup.forbiddenGiven) {
    return 'needs a caller without rights: give its credentials (--forbidden-header) along with --header';
  }
  return undefined;
}

/** A pattern with the g or y flag keeps state between test() calls: start each test afresh. */
function matches(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}

const DOCUMENTED_EXAMPLE_STATE = cardWithKey(EXAMPLE_CARD);

/**
 * True when every provider state of the interaction is the documented example card exactly
 * (its ids, the all-zero default key, the documented diversified key): a server seeded like
 * Microsoft's documentation already holds it, so no state-change call is needed.
 */
export function providedByDocumentedExample(interaction: PactInteraction): boolean {
  const states = interaction.providerStates ?? [];
  return (
    states.length > 0 && states.every((s) => s.name === DOCUMENTED_EXAMPLE_STATE.name && isDeepStrictEqual(s.params ?? {}, DOCUMENTED_EXAMPLE_STATE.params))
  );
}
