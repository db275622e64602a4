import { expect } from 'chai';
import { ulid } from 'ulid';
import * as z from 'zod/mini';
import { pendingMediaRecord } from '../../local/test/records';
import { MediaResponse, MetadataResponse } from '../schemas/media';
import {
  captureTimeOf,
  isoTimestampOf,
  MAX_DURATION_SECONDS,
  plausibleCameraText,
  plausibleCaptureTime,
  plausibleDimension,
  plausibleDuration,
  plausibleLocation,
  plausibleOrientation,
  readableRecord,
} from './ranges';

describe('media-info/ranges', () => {
  const now = Date.parse('2026-11-21T10:00:00Z');

  it('capture times: 1826 to a day after now, as four-digit-year ISO strings', () => {
    expect(captureTimeOf(Date.UTC(1826, 0, 1), now)).to.equal('1826-01-01T00:00:00.000Z');
    expect(captureTimeOf(Date.UTC(1825, 11, 31), now)).to.equal(undefined);
    expect(captureTimeOf(now + 86_400_000, now)).to.equal('2026-11-22T10:00:00.000Z');
    expect(captureTimeOf(now + 86_400_001, now)).to.equal(undefined);
    for (const bad of [Number.NaN, Infinity, 8.64e15, 253402300800000]) expect(captureTimeOf(bad, now), String(bad)).to.equal(undefined);
    expect(plausibleCaptureTime('+010000-01-01T00:59:59.000Z', now)).to.equal(undefined);
    expect(plausibleCaptureTime('2024-07-14T18:32:05+02:00', now)).to.equal('2024-07-14T16:32:05.000Z');
  });

  it('ISO timestamps the schemas accept; anything else is undefined', () => {
    expect(isoTimestampOf('2024-07-14T16:32:05Z')).to.equal('2024-07-14T16:32:05.000Z');
    for (const bad of ['+010000-01-01T00:00:00.000Z', '2024-07-14', 'yesterday', 1_720_000_000_000, null, '2024-02-30T00:00:00Z ']) expect(isoTimestampOf(bad), String(bad)).to.equal(undefined);
  });

  it('numbers: whole sides of 1 px or more, durations up to 31 days, orientation 1-8, positions on Earth', () => {
    expect([plausibleDimension(1), plausibleDimension(0), plausibleDimension(1.5), plausibleDimension(2 ** 53), plausibleDimension('640')]).to.deep.equal([1, undefined, undefined, undefined, undefined]);
    expect([plausibleDuration(1.23456), plausibleDuration(-1), plausibleDuration(MAX_DURATION_SECONDS + 1), plausibleDuration(Number.NaN)]).to.deep.equal([1.235, undefined, undefined, undefined]);
    expect([1, 8, 0, 9, 6.5].map(plausibleOrientation)).to.deep.equal([1, 8, undefined, undefined, undefined]);
    expect(plausibleLocation(-90, 180, -10_000)).to.deep.equal({ latitude: -90, longitude: 180, altitude: -10_000 });
    expect(plausibleLocation(90.01, 0)).to.equal(undefined);
    expect(plausibleLocation(0, Infinity)).to.equal(undefined);
    expect(plausibleLocation(1, 2, Infinity)).to.deep.equal({ latitude: 1, longitude: 2 });
  });

  it('camera text: well-formed, no control or bidi characters, at most 100 characters', () => {
    expect(plausibleCameraText('\ud800Canon\u202e\u0000 ')).to.equal('\ufffdCanon');
    expect(plausibleCameraText('x'.repeat(150))).to.equal('x'.repeat(100));
    expect(plausibleCameraText('\u0001')).to.equal(undefined);
  });

  it('readableRecord: what it returns passes the response schemas, whatever the stored metadata', () => {
    const record = pendingMediaRecord(ulid(), {
      status: 'ready',
      takenAt: '+010000-01-01T00:59:59.000Z',
      width: 640,
      height: Number.NaN,
      durationSeconds: 1e300,
      location: { latitude: 4_294_967_295, longitude: 1 },
      orientation: 0,
      camera: { make: 12 as unknown as string },
    });
    const readable = readableRecord(record, now);
    expect(readable).to.not.have.any.keys('takenAt', 'width', 'height', 'durationSeconds', 'location', 'orientation', 'camera');
    const { id, filename, contentType, size, status, type, createdAt, tags, views, title, description } = readable;
    const flags = { favorite: readable.favorite === true, archived: readable.archived === true };
    expect(z.safeParse(MediaResponse, { id, filename, contentType, size, status, type, createdAt, tags, views, ...flags }).success).to.equal(true);
    expect(z.safeParse(MetadataResponse, { width: null, height: null, title, description, tags, ...flags }).success).to.equal(true);
  });

  it('readableRecord keeps a good record as it is', () => {
    const record = pendingMediaRecord(ulid(), { status: 'ready', width: 480, height: 640, takenAt: '2024-07-14T16:32:05.000Z', orientation: 6, camera: { make: 'Canon' }, location: { latitude: 48.85837, longitude: 2.294481, altitude: 35 } });
    expect(readableRecord(record, now)).to.deep.equal(record);
  });
});
