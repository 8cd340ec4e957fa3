import { createLogger } from '../lib/logger.js';
import { serveApp } from '../lib/serve.js';
import { createPayoutSimApp } from './app.js';
import { loadPayoutSimConfig } from './config.js';

// The only place the payout provider simulator is wired: config → in-memory book → HTTP.
const config = loadPayoutSimConfig();
const log = createLogger('payout-sim', config.LOG_LEVEL);
const sim = createPayoutSimApp({ config, log });

await serveApp({
  app: sim.app,
  host: config.PAYOUT_SIM_HOST,
  port: config.PAYOUT_SIM_PORT,
  log,
  onClose: () => {
    sim.close();
    return Promise.resolve();
  },
});
