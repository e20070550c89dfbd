/**
 * The regulator's event emitter, guarded. Listeners are the host's code, called in the middle of a tick: one that
 * throws would otherwise stop the tick half-way (a gear moved and not yet published, the scenes after it not stepped)
 * on every tick from then on. Here a listener's throw ends only that emit; the error goes to the `error` listeners,
 * or, when there are none, to one process warning per event name: the timer must neither crash the host nor hide
 * the fault.
 */
import { EventEmitter } from 'eventemitter3';
import { ListenerError } from '../errors.js';

/** Events that include `error`, which is always given a ListenerError. */
type WithError = { error: (e: ListenerError) => void };

export class GuardedEmitter<Events extends WithError> extends EventEmitter<Events> {
  private readonly warned = new Set<string>();

  override emit<T extends EventEmitter.EventNames<Events>>(event: T, ...args: EventEmitter.EventArgs<Events, T>): boolean {
    try {
      return super.emit(event, ...args);
    } catch (e) {
      // An `error` listener that throws is not handed its own error again (that would loop): it gets the warning.
      this.fault(e instanceof ListenerError ? e : new ListenerError(`a ${JSON.stringify(String(event))} listener`, e), event !== 'error');
      return true;
    }
  }

  /** Reports a fault: to the `error` listeners when there are any and `toListeners` allows, else as a warning (once per source). */
  protected fault(err: ListenerError, toListeners = true): void {
    const error = 'error' as unknown as EventEmitter.EventNames<Events>;
    if (toListeners && this.listenerCount(error) > 0) {
      this.emit(error, ...([err] as unknown as EventEmitter.EventArgs<Events, typeof error>));
    } else if (!this.warned.has(err.source)) {
      this.warned.add(err.source);
      process.emitWarning(err);
    }
  }
}
