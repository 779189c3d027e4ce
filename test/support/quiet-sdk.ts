import { installSdkLogger } from '../../src/temporal/logging.js';

installSdkLogger();
