/**
 * @module
 * Following the run journal for the search cache: which head is the newest, which log this
 * process reads and where it is in it, the rest of the previous log to read first after a
 * compaction, and reading entries (`[runId, seq]`) into the cache's announcements. A corrupt
 * record stops the read there; it is reported and the journal marked broken.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { MetadataStore } from '../metadata/types.js';
import { FIRST_HEAD, type JournalHead, readHead } from './journal-head.js';
import type { CorruptRecord } from './types.js';

/**
 * How often, at most, a write re-reads the journal head before its append (it always reads
 * it after: see run-store.ts). `keel.doctor()` waits twice this before it announces again
 * the runs written meanwhile.
 */
export const HEAD_CHECK_MS = 1000;

/** A place in a journal log: the next entry to read. */
export interface LogPosition {
  log: string;
  offset: number;
}

/** Where this process is in the journal, and the reads that move it on. */
export class JournalReader {
  /** The head whose log this process follows. */
  head: JournalHead = FIRST_HEAD;
  /** The next entry to read in `head.log`. */
  at: LogPosition = { log: FIRST_HEAD.log, offset: 0 };
  /** The rest of the log before `head.log`, read once before it (after a compaction). */
  tail: LogPosition | undefined;
  /** Whether the last journal read stopped at a corrupt record. */
  broken = false;
  /** The newest journal head seen: writes are announced in its log. */
  #latest: JournalHead = FIRST_HEAD;
  #checkedAt = Number.NEGATIVE_INFINITY;
  /** Whether the head must be read again once `tail` was read (it may have been removed meanwhile). */
  #checkAfterTail = false;
  readonly #metadata: MetadataStore;
  readonly #clock: Clock;
  readonly #announce: (runId: string, seq: number, now: number) => void;
  readonly #report: (record: CorruptRecord) => void;

  /** Reads `metadata`'s journal; entries go to `announce`, corrupt records to `report`. */
  constructor(
    metadata: MetadataStore,
    clock: Clock,
    announce: (runId: string, seq: number, now: number) => void,
    report: (record: CorruptRecord) => void,
  ) {
    this.#metadata = metadata;
    this.#clock = clock;
    this.#announce = announce;
    this.#report = report;
  }

  /**
   * Reads the journal head; remembers it as the newest.
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
   */
  async readLatest(): Promise<JournalHead> {
    this.#checkedAt = this.#clock.now();
    const head = await readHead(this.#metadata);
    this.#latest = head;
    return head;
  }

  /**
   * The journal log to append to: the newest head's. Reads the head document when `force`
   * or when it was last read {@link HEAD_CHECK_MS} ago.
   */
  async journal(force = false): Promise<string> {
    if (force || this.#clock.now() - this.#checkedAt >= HEAD_CHECK_MS) await this.readLatest();
    return this.#latest.log;
  }

  /** Starts reading `head`'s log from its start, after the rest of the log before it. */
  startAt(head: JournalHead): void {
    this.head = head;
    this.at = { log: head.log, offset: 0 };
    this.tail =
      head.previous === undefined
        ? undefined
        : { log: head.previous.log, offset: head.previous.from };
    this.#checkAfterTail = this.tail !== undefined;
    this.broken = false;
  }

  /**
   * Goes on with a new head when it follows the log being read (the rest of that log is read
   * first); false when the reader must start afresh instead.
   */
  continueWith(head: JournalHead): boolean {
    if (this.tail !== undefined || head.previous?.log !== this.at.log || this.broken) return false;
    this.tail = this.at;
    this.#checkAfterTail = true;
    this.head = head;
    this.at = { log: head.log, offset: 0 };
    return true;
  }

  /**
   * Reads the rest of the log before the followed one (once), then the followed one; false
   * when a corrupt record stopped it. `restart` starts afresh from a head that replaced the
   * followed one meanwhile.
   */
  async readLogs(now: number, restart: (head: JournalHead) => Promise<void>): Promise<boolean> {
    if (this.tail !== undefined) {
      if (!(await this.#readLog(this.tail, now))) return false;
      this.tail = undefined;
      if (this.#checkAfterTail) {
        this.#checkAfterTail = false;
        // a compaction since may have removed that log while it was read: start over then
        const head = await this.readLatest();
        if (head.log !== this.head.log) {
          await restart(head);
          return this.readLogs(now, restart);
        }
      }
    }
    return this.#readLog(this.at, now);
  }

  /** Follows one log from `position` (advanced); on a corrupt record, reports it and returns false. */
  async #readLog(position: LogPosition, now: number): Promise<boolean> {
    try {
      for await (const { offset, entry } of this.#metadata.read(position.log, {
        from: position.offset,
      })) {
        position.offset = offset + 1;
        if (!Array.isArray(entry)) continue;
        const [runId, seq] = entry;
        if (typeof runId !== 'string' || typeof seq !== 'number') continue;
        this.#announce(runId, seq, now);
      }
      return true;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      this.broken = true;
      const offset = error.details?.offset;
      this.#report({
        key: position.log,
        offset: typeof offset === 'number' ? offset : position.offset,
        reason: error.message,
      });
      return false;
    }
  }
}
