import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { expect } from 'chai';
import { LiveEvent } from '../../shared/schemas/live';
import { buildOpenApi } from './document';
import { LIVE_EVENTS } from './live';

type Json = Record<string, unknown>;

describe('OpenAPI: the live-updates events as webhooks', () => {
  const document = buildOpenApi();
  const webhooks = document['webhooks'] as Record<string, { post: Json }>;

  it('documents every event type of shared/schemas/live.ts, each as a webhook of its own', () => {
    const types = LiveEvent.def.options.map((option) => option.def.shape.type.def.values[0]);
    expect(LIVE_EVENTS.map((event) => event.type)).to.deep.equal(types);
    for (const event of LIVE_EVENTS) {
      const operation = webhooks[event.operationId]?.post;
      expect(operation?.['operationId'], event.type).to.equal(event.operationId);
      expect(operation?.['tags']).to.deep.equal(['live']);
    }
  });

  it('has examples the server’s own schema accepts and the document’s schema validates', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(document, 'doc');
    for (const event of LIVE_EVENTS) {
      expect(LiveEvent.safeParse(event.example).success, `${event.type}: zod`).to.equal(true);
      for (const ref of [`doc#/components/schemas/${event.component}`, 'doc#/components/schemas/LiveEvent']) {
        const validate = ajv.getSchema(ref);
        expect(validate?.(event.example), `${event.type} against ${ref}: ${JSON.stringify(validate?.errors)}`).to.equal(true);
      }
      const body = (operationBody(webhooks[event.operationId]?.post) ?? {}) as Json;
      expect(body['schema']).to.deep.equal({ $ref: `#/components/schemas/${event.component}` });
      expect(body['example']).to.equal(event.example);
    }
  });

  it('tells events apart by `type` (a discriminator naming every variant)', () => {
    const union = (document['components'] as { schemas: Record<string, Json> }).schemas['LiveEvent'] as Json;
    expect(union['oneOf']).to.deep.equal(LIVE_EVENTS.map((event) => ({ $ref: `#/components/schemas/${event.component}` })));
    expect(union['discriminator']).to.deep.equal({ propertyName: 'type', mapping: Object.fromEntries(LIVE_EVENTS.map((event) => [event.type, `#/components/schemas/${event.component}`])) });
  });
});

function operationBody(operation: Json | undefined): unknown {
  return ((operation?.['requestBody'] as Json | undefined)?.['content'] as Record<string, unknown> | undefined)?.['application/json'];
}
