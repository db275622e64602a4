/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return -- free-form edits of a parsed OpenAPI document */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { breakingChanges } from './breaking';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const released = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'contract', 'v1.json'), 'utf8')) as Json;
const change = (edit: (document: Json) => void): string[] => {
  const current = structuredClone(released);
  edit(current);
  return breakingChanges(released, current);
};
const schemas = (document: Json): Json => document['components']['schemas'];

describe('breaking changes against the released contract', () => {
  it('the released contract against itself: none', () => {
    expect(breakingChanges(released, structuredClone(released))).to.deep.equal([]);
  });

  describe('fails on', () => {
    it('a removed path', () => {
      expect(change((d) => delete d['paths']['/v1/tags'])).to.deep.equal(['/v1/tags: path removed']);
    });

    it('a removed operation', () => {
      expect(change((d) => delete d['paths']['/v1/media/{id}']['delete'])).to.deep.equal(['DELETE /v1/media/{id}: operation removed']);
    });

    it('a removed response code', () => {
      expect(change((d) => delete d['paths']['/v1/media/{id}']['get']['responses']['404'])).to.deep.equal(['GET /v1/media/{id}: response 404 removed']);
    });

    it('a removed response field, wherever the schema is used', () => {
      const problems = change((d) => delete schemas(d)['Media']['properties']['views']);
      expect(problems).to.include('GET /v1/media/{id} → 200.views: response field removed');
      expect(problems).to.include('GET /v1/media → 200.items[].views: response field removed');
    });

    it('a response field that is no longer always present', () => {
      const problems = change((d) => (schemas(d)['User']['required'] = ['id', 'email', 'createdAt']));
      expect(problems).to.include('GET /v1/users/me → 200.name: response field no longer always present');
    });

    it('a changed type', () => {
      const problems = change((d) => (schemas(d)['Media']['properties']['size'] = { type: 'string' }));
      expect(problems).to.include('GET /v1/media/{id} → 200.size: type changed from number to string');
    });

    it('a field that may now be null', () => {
      const problems = change((d) => (schemas(d)['User']['properties']['name'] = { type: ['string', 'null'] }));
      expect(problems).to.include('GET /v1/users/me → 200.name: type changed from string to null|string');
    });

    it('a narrowed enum, in a response and in a parameter', () => {
      const problems = change((d) => {
        schemas(d)['Media']['properties']['status']['enum'] = ['pending', 'ready'];
        d['paths']['/v1/media']['get']['parameters'].find((p: Json) => p['name'] === 'type')['schema']['enum'] = ['image'];
      });
      expect(problems).to.include('GET /v1/media/{id} → 200.status: enum narrowed (removed "rejected")');
      expect(problems).to.include('GET /v1/media parameter query:type: enum narrowed (removed "video")');
    });

    it('a removed error code', () => {
      const problems = change((d) => {
        d['paths']['/v1/media/{id}/analyses']['post']['responses']['409']['content']['application/json']['schema']['allOf'][1]['properties']['error']['properties']['code']['enum'] = ['media_not_ready'];
      });
      expect(problems).to.deep.equal(['POST /v1/media/{id}/analyses → 409.error.code: enum narrowed (removed "not_an_image")']);
    });

    it('a new required request field, and a removed one', () => {
      const problems = change((d) => {
        schemas(d)['CreateMediaRequest']['properties']['album'] = { type: 'string' };
        schemas(d)['CreateMediaRequest']['required'].push('album');
        delete schemas(d)['CreateMediaRequest']['properties']['sha256'];
      });
      expect(problems).to.include('POST /v1/media body.album: new required request field');
      expect(problems).to.include('POST /v1/media body.sha256: request field removed (clients sending it would get 400)');
    });

    it('a new required parameter, and a removed one', () => {
      const problems = change((d) => {
        const parameters = d['paths']['/v1/media']['get']['parameters'];
        parameters.push({ name: 'album', in: 'query', required: true, description: 'x', schema: { type: 'string' } });
        d['paths']['/v1/media']['get']['parameters'] = parameters.filter((p: Json) => p['name'] !== 'tag');
      });
      expect(problems).to.include('GET /v1/media: new required parameter query:album');
      expect(problems).to.include('GET /v1/media: parameter query:tag removed (clients sending it would get 400)');
    });

    it('a tighter request limit', () => {
      const problems = change((d) => (schemas(d)['CreateMediaRequest']['properties']['filename']['maxLength'] = 100));
      expect(problems).to.deep.equal(['POST /v1/media body.filename: maxLength tightened from 255 to 100']);
    });

    it('a body that becomes required, and authentication on an open route', () => {
      const problems = change((d) => {
        d['paths']['/v1/media/{id}/analyses']['post']['requestBody']['required'] = true;
        d['paths']['/v1/health']['get']['security'] = [{ bearerAuth: [] }];
      });
      expect(problems).to.include('POST /v1/media/{id}/analyses: request body now required');
      expect(problems).to.include('GET /v1/health: now requires authentication');
    });
  });

  describe('passes additions', () => {
    it('a new path, a new optional request field, a new response field and code, a wider enum, a looser limit', () => {
      const problems = change((d) => {
        d['paths']['/v1/albums'] = { get: { operationId: 'listAlbums', responses: { '200': { description: 'ok' } } } };
        schemas(d)['CreateMediaRequest']['properties']['album'] = { type: 'string' };
        schemas(d)['Media']['properties']['album'] = { type: 'string' };
        d['paths']['/v1/media/{id}']['get']['responses']['410'] = { description: 'gone' };
        schemas(d)['Media']['properties']['type']['enum'] = ['image', 'video', 'audio'];
        d['paths']['/v1/media/{id}/analyses']['post']['responses']['409']['content']['application/json']['schema']['allOf'][1]['properties']['error']['properties']['code']['enum'].push('quota_exceeded');
        schemas(d)['CreateMediaRequest']['properties']['filename']['maxLength'] = 500;
        d['paths']['/v1/media']['get']['parameters'].push({ name: 'album', in: 'query', required: false, description: 'x', schema: { type: 'string' } });
      });
      expect(problems).to.deep.equal([]);
    });

    it('new webhooks with new components (the live-updates events), as the current document adds them', () => {
      const problems = change((d) => {
        d['webhooks']['liveMediaDeleted'] = { post: { operationId: 'liveMediaDeleted', requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/MediaDeletedEvent' } } } } } };
        schemas(d)['MediaDeletedEvent'] = { type: 'object', properties: { type: { const: 'media.deleted' }, mediaId: { type: 'string' } }, required: ['type', 'mediaId'] };
        schemas(d)['LiveEvent'] = { oneOf: [{ $ref: '#/components/schemas/MediaDeletedEvent' }] };
      });
      expect(problems).to.deep.equal([]);
    });
  });
});
