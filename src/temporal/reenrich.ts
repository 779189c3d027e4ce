import type { Client } from '@temporalio/client';
import type { Config } from '../config/index.js';
import { vendorsFor } from '../enrichers/index.js';
import { iocSearchValue, iocWorkflowId } from '../ioc/identity.js';
import { canonicalKey, normaliseEntry, type NormaliseOutcome } from '../ioc/index.js';
import {
  reenrichSignal,
  SEARCH_ATTRIBUTES,
  WORKFLOW_TYPES,
  type EnrichIocInput,
} from '../shared/messages.js';

/** What an analyst typed is not an indicator the normaliser accepts. */
export class NotAnIndicatorError extends Error {
  constructor(input: string, reason: string) {
    super(`not an indicator: ${JSON.stringify(input)} (${reason})`);
    this.name = 'NotAnIndicatorError';
  }
}

/** The indicator an analyst typed (defanged is fine), or NotAnIndicatorError. */
export function indicatorFrom(input: string): Extract<NormaliseOutcome, { kind: 'indicator' }> {
  const outcome = normaliseEntry(input)[0];
  if (outcome?.kind !== 'indicator') {
    throw new NotAnIndicatorError(input, outcome?.kind === 'rejected' ? outcome.reason : 'empty');
  }
  return outcome;
}

/**
 * Re-enriches one IOC now, bypassing every vendor cache: signals its EnrichIoc if one is running, or
 * starts one (signal-with-start), so it works either way. The IOC is given as an analyst would type it;
 * it is normalised first (defanged input is fine). Returns the workflow ID to follow.
 */
export async function reenrichIoc(
  client: Client,
  config: Config,
  input: string,
  reason = 'analyst request',
): Promise<{ workflowId: string; key: string }> {
  const outcome = indicatorFrom(input);
  const key = canonicalKey(outcome);
  const workflowId = iocWorkflowId(key);
  const args: EnrichIocInput = { key, vendors: vendorsFor(outcome.type, config), force: true };
  await client.workflow.signalWithStart(WORKFLOW_TYPES.enrichIoc, {
    workflowId,
    taskQueue: config.temporal.taskQueue,
    args: [args],
    signal: reenrichSignal,
    signalArgs: [{ reason }],
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.iocType, value: outcome.type },
      { key: SEARCH_ATTRIBUTES.iocValue, value: iocSearchValue(outcome.value) },
      { key: SEARCH_ATTRIBUTES.iocStage, value: 'enriching' },
    ],
  });
  return { workflowId, key };
}
