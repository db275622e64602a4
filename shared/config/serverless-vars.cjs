// Values serverless.yml derives from the stage file that YAML alone cannot express.
// Used as ${file(./shared/config/serverless-vars.cjs):name}.
'use strict';

module.exports = {
  // Lambda environment values must be strings: the stage's CORS origin list, comma-joined.
  async corsOrigins({ resolveVariable }) {
    const origins = await resolveVariable('self:custom.stage.corsOrigins');
    return origins.join(',');
  },
};
