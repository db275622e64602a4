import { expect } from 'chai';
import { postWithXhr } from './upload';

/** Just enough of XMLHttpRequest to see what the browser would be asked to do. */
class FakeXhr {
  static last: FakeXhr | undefined;
  method = '';
  url = '';
  body: FormData | undefined;
  status = 0;
  responseText = '';
  aborted = false;
  upload: { onprogress: ((event: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  send(body: FormData): void {
    this.body = body;
  }
  abort(): void {
    this.aborted = true;
    this.onabort?.();
  }
}

describe('web upload: the multipart POST to S3 (postWithXhr)', () => {
  const original = (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest;
  beforeEach(() => {
    (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = FakeXhr;
  });
  afterEach(() => {
    (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = original;
  });

  const file = new File([new Uint8Array([1, 2, 3])], 'photo.jpg', { type: 'image/jpeg' });

  it('POSTs the signed fields first and the file last (S3 ignores fields after the file), reporting progress', async () => {
    const fractions: number[] = [];
    const posted = postWithXhr('http://s3.local/bucket', { key: 'media/u/m/original', 'Content-Type': 'image/jpeg', Policy: 'p' }, file, (fraction) => fractions.push(fraction), new AbortController().signal);
    const xhr = FakeXhr.last as FakeXhr;
    expect([xhr.method, xhr.url]).to.deep.equal(['POST', 'http://s3.local/bucket']);
    expect([...(xhr.body as FormData).keys()]).to.deep.equal(['key', 'Content-Type', 'Policy', 'file']);
    xhr.upload.onprogress?.({ lengthComputable: true, loaded: 1, total: 4 });
    xhr.upload.onprogress?.({ lengthComputable: false, loaded: 2, total: 0 });
    xhr.status = 204;
    xhr.onload?.();
    expect(await posted).to.deep.equal({ status: 204, body: '' });
    expect(fractions).to.deep.equal([0.25]);
  });

  it('answers S3 refusals with their status and XML body', async () => {
    const posted = postWithXhr('http://s3.local/bucket', {}, file, () => undefined, new AbortController().signal);
    const xhr = FakeXhr.last as FakeXhr;
    xhr.status = 400;
    xhr.responseText = '<Error><Code>EntityTooLarge</Code></Error>';
    xhr.onload?.();
    expect(await posted).to.deep.equal({ status: 400, body: '<Error><Code>EntityTooLarge</Code></Error>' });
  });

  it('a network failure rejects; cancelling aborts the request', async () => {
    const failed = postWithXhr('http://s3.local/bucket', {}, file, () => undefined, new AbortController().signal);
    (FakeXhr.last as FakeXhr).onerror?.();
    await failed.then(
      () => expect.fail('should reject'),
      (error: unknown) => expect(error).to.be.instanceOf(TypeError),
    );

    const controller = new AbortController();
    const cancelled = postWithXhr('http://s3.local/bucket', {}, file, () => undefined, controller.signal);
    const xhr = FakeXhr.last as FakeXhr;
    controller.abort();
    expect(xhr.aborted).to.equal(true);
    await cancelled.then(
      () => expect.fail('should reject'),
      (error: unknown) => expect((error as DOMException).name).to.equal('AbortError'),
    );
  });
});
