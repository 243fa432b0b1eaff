/**
 * Choosing the interactions of a verification (contracts/select.ts), on the committed pact:
 * which ones the documented example provides, the lifecycle tag, --only/--skip and the
 * reasons each skipped interaction gets. Pure: no server, no verifier.
 */
import { describe, expect, it } from 'vitest';
import { committedPactPath, readPact, tagsOf } from '../../contracts/pact-file.js';
import { checkChoice, planInteractions, providedByDocumentedExample, type RunSetup } from '../../contracts/select.js';

const pact = readPact(committedPactPath());
const ALL_SET_UP: RunSetup = { statesUrl: true, documentedExample: false, helpdeskReplaced: false, forbiddenGiven: false };
const runs = (setup: RunSetup, choice = {}): string[] =>
  planInteractions(pact, choice, setup)
    .filter((p) => p.skip === undefined)
    .map((p) => p.interaction.description)
    .sort();
const reasons = (setup: RunSetup, choice = {}): Map<string, string | undefined> =>
  new Map(planInteractions(pact, choice, setup).map((p) => [p.interaction.description, p.skip]));

// The interactions on Microsoft's documented example card (request a9b4b42c-..., all-zero
// default key, the documented diversified key): the consumer tests build them on EXAMPLE_CARD.
const ON_THE_DOCUMENTED_EXAMPLE = [
  'a response request from a caller without rights',
  'a response request with diversified=True',
  'a response request without credentials',
  'the documented diversified key request',
  'the documented example request',
];
const LIFECYCLE = [
  'a request to complete an approved request',
  'a request to create an Unblock request for a smart card',
  'a request to read an approved request',
];

describe('the committed pact', () => {
  it('tags exactly the three request-lifecycle interactions', () => {
    expect(
      pact.interactions
        .filter((i) => tagsOf(i).includes('lifecycle'))
        .map((i) => i.description)
        .sort(),
    ).toEqual(LIFECYCLE);
  });

  it('has exactly the five documented-example interactions, by their provider state params', () => {
    expect(
      pact.interactions
        .filter(providedByDocumentedExample)
        .map((i) => i.description)
        .sort(),
    ).toEqual(ON_THE_DOCUMENTED_EXAMPLE);
  });

  it('a documented-example state with one param changed (another key) is not the documented example', () => {
    const example = pact.interactions.find((i) => i.description === 'the documented example request')!;
    const state = example.providerStates![0]!;
    const changed = { ...example, providerStates: [{ ...state, params: { ...state.params, adminKey: '01'.repeat(24) } }] };
    expect(providedByDocumentedExample(example)).toBe(true);
    expect(providedByDocumentedExample(changed)).toBe(false);
    expect(providedByDocumentedExample({ ...example, providerStates: [] })).toBe(false);
  });
});

describe('planInteractions', () => {
  it('with a state-change URL and no choice, runs every interaction', () => {
    expect(runs(ALL_SET_UP)).toHaveLength(pact.interactions.length);
  });

  it('without a state-change URL runs nothing, and says how to run the documented-example ones', () => {
    const r = reasons({ ...ALL_SET_UP, statesUrl: false });
    expect([...r.values()].every((m) => m !== undefined && /^needs provider state ".+": give a state-change URL \(--states-url\)/.test(m))).toBe(true);
    expect(r.get('the documented example request')).toMatch(/, or --documented-example if the server holds the documented example card$/);
    expect(r.get('a request to read an approved request')).not.toMatch(/documented-example/);
  });

  it('with --documented-example and no state-change URL, runs the documented-example interactions only', () => {
    const setup = { ...ALL_SET_UP, statesUrl: false, documentedExample: true };
    expect(runs(setup)).toEqual(ON_THE_DOCUMENTED_EXAMPLE);
    expect(reasons(setup).get('a response request for a card on a non-weak key')).toBe(
      'needs provider state "a smart card with a Base CSP admin key", which the documented example does not provide: give a state-change URL (--states-url)',
    );
  });

  it('--skip-tag lifecycle leaves out the three lifecycle interactions, --only-tag lifecycle runs only them', () => {
    expect(runs(ALL_SET_UP, { skipTags: ['lifecycle'] })).toHaveLength(pact.interactions.length - 3);
    expect(reasons(ALL_SET_UP, { skipTags: ['lifecycle'] }).get(LIFECYCLE[0]!)).toBe('not chosen: tagged lifecycle (--skip-tag lifecycle)');
    expect(runs(ALL_SET_UP, { onlyTags: ['lifecycle'] })).toEqual(LIFECYCLE);
    expect(reasons(ALL_SET_UP, { onlyTags: ['lifecycle'] }).get('the documented example request')).toBe(
      'not chosen: it carries no --only-tag tag (it has none)',
    );
  });

  it('--only keeps a description matching any pattern, --skip then removes', () => {
    const choice = { only: [/diversified/i, /documented example/i], skip: [/key request/i] };
    expect(runs(ALL_SET_UP, choice)).toEqual(['a response request with diversified=True', 'the documented example request']);
    const r = reasons(ALL_SET_UP, choice);
    expect(r.get('the documented diversified key request')).toBe("not chosen: --skip 'key request' matches its description");
    expect(r.get('a response request without credentials')).toBe('not chosen: no --only pattern matches its description');
  });

  it('a choice comes before what the run can set up: a left-out interaction says so, not that it needs a state', () => {
    expect(reasons({ ...ALL_SET_UP, statesUrl: false }, { skipTags: ['lifecycle'] }).get(LIFECYCLE[0]!)).toMatch(/^not chosen/);
  });

  it('keeps the no-rights interaction out when only the help-desk caller is replaced', () => {
    expect(reasons({ ...ALL_SET_UP, helpdeskReplaced: true }).get('a response request from a caller without rights')).toMatch(/--forbidden-header/);
    expect(reasons({ ...ALL_SET_UP, helpdeskReplaced: true, forbiddenGiven: true }).get('a response request from a caller without rights')).toBeUndefined();
  });

  it('a g-flagged pattern matches every time, not every other time', () => {
    expect(runs(ALL_SET_UP, { only: [/request/g] })).toHaveLength(pact.interactions.length);
  });
});

describe('checkChoice: a choice that cannot mean what the user wants is a usage error', () => {
  it.each([
    [{ only: [/no such interaction/] }, /^--only 'no such interaction' matches no interaction description of the pact$/],
    [{ skip: [/no such interaction/] }, /^--skip 'no such interaction' matches no interaction description of the pact$/],
    [{ skipTags: ['lifecylce'] }, /^--skip-tag 'lifecylce' is not a tag of the pact \(its tags: lifecycle\)$/],
    [{ onlyTags: ['nope'] }, /^--only-tag 'nope' is not a tag of the pact/],
  ])('%o', (choice, message) => {
    expect(() => checkChoice(pact, choice)).toThrow(message);
  });

  it('accepts a choice that matches', () => {
    expect(() => checkChoice(pact, { only: [/documented/], skipTags: ['lifecycle'] })).not.toThrow();
  });
});
