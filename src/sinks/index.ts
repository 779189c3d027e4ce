import type { Got } from 'got';
import type { SinkConfig } from '../config/index.js';
import { crowdstrikeSink } from './crowdstrike.js';
import { fileSink } from './file.js';
import { mispFeedbackSink } from './misp-feedback.js';
import { TokenCache } from './oauth-token.js';
import { sentinelSink } from './sentinel.js';
import { splunkHecSink } from './splunk-hec.js';
import type { Sink } from './types.js';

export type * from './types.js';
export { TokenCache } from './oauth-token.js';

/** The one registry of sink types: a new sink is a file in this folder and a line here. */
export interface SinkDeps {
  /** The shared HTTP client (retries off, TLS verified); HTTP sinks extend it, never build their own. */
  http: Got;
  /** OAuth tokens, cached across deliveries for as long as the worker lives. @default a fresh cache */
  tokens?: TokenCache;
  now?: () => number;
  /** Waits between acknowledgement polls (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
  /** Where a sink reports a problem it works around (the activity's logger). @default silent */
  warn?: (message: string) => void;
}

export function createSink(name: string, config: SinkConfig, deps: SinkDeps): Sink {
  const withDefaults = { ...deps, tokens: deps.tokens ?? new TokenCache(deps.now) };
  switch (config.type) {
    case 'file':
      return fileSink(name, config);
    case 'splunk-hec':
      return splunkHecSink(name, config, withDefaults);
    case 'sentinel':
      return sentinelSink(name, config, withDefaults);
    case 'crowdstrike':
      return crowdstrikeSink(name, config, withDefaults);
    case 'misp-feedback':
      return mispFeedbackSink(name, config, withDefaults);
  }
}
