/** The upload queue shown in the upload panel: a few files at a time, each cancellable. */
import { app } from '../app.svelte';
import { hashInWorker } from './hash';
import { postWithXhr, uploadFile, type UploadOutcome } from './upload';

export interface UploadTask {
  id: number;
  name: string;
  phase: 'waiting' | 'hashing' | 'uploading' | 'done' | 'duplicate' | 'failed' | 'cancelled';
  fraction: number;
  message?: string;
  mediaId?: string;
  controller: AbortController;
}

const AT_ONCE = 3;

class Uploads {
  tasks = $state<UploadTask[]>([]);
  private queue: { task: UploadTask; file: File }[] = [];
  private running = 0;
  private nextId = 1;

  get active(): boolean {
    return this.tasks.some((task) => task.phase === 'waiting' || task.phase === 'hashing' || task.phase === 'uploading');
  }

  add(files: Iterable<File>): void {
    for (const file of files) {
      const task: UploadTask = { id: this.nextId++, name: file.name, phase: 'waiting', fraction: 0, controller: new AbortController() };
      this.tasks = [...this.tasks, task];
      this.queue.push({ task, file });
    }
    this.pump();
  }

  cancel(id: number): void {
    const task = this.tasks.find((candidate) => candidate.id === id);
    if (task === undefined) return;
    task.controller.abort();
    if (task.phase === 'waiting') {
      this.queue = this.queue.filter((entry) => entry.task.id !== id);
      this.update(id, { phase: 'cancelled' });
    }
  }

  clearFinished(): void {
    this.tasks = this.tasks.filter((task) => task.phase === 'waiting' || task.phase === 'hashing' || task.phase === 'uploading');
  }

  /** Forgets every task (sign-out: nothing of the person stays). */
  reset(): void {
    for (const task of this.tasks) task.controller.abort();
    this.queue = [];
    this.tasks = [];
  }

  private pump(): void {
    while (this.running < AT_ONCE && this.queue.length > 0) {
      const { task, file } = this.queue.shift() as { task: UploadTask; file: File };
      this.running += 1;
      void this.run(task, file).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async run(task: UploadTask, file: File): Promise<void> {
    const outcome: UploadOutcome = await uploadFile(
      file,
      { api: app.api, hash: hashInWorker, post: postWithXhr },
      (progress) => this.update(task.id, { phase: progress.phase, fraction: progress.fraction }),
      task.controller.signal,
    );
    switch (outcome.kind) {
      case 'uploaded':
        this.update(task.id, { phase: 'done', fraction: 1, mediaId: outcome.mediaId });
        app.libraryVersion += 1;
        break;
      case 'duplicate':
        this.update(task.id, { phase: 'duplicate', mediaId: outcome.existingId, message: 'Already in your library' });
        break;
      case 'rejected':
        this.update(task.id, { phase: 'failed', message: outcome.message });
        break;
      case 'cancelled':
        this.update(task.id, { phase: 'cancelled' });
        break;
    }
  }

  private update(id: number, change: Partial<UploadTask>): void {
    this.tasks = this.tasks.map((task) => (task.id === id ? { ...task, ...change } : task));
  }
}

export const uploads = new Uploads();
