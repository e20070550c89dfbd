/**
 * The three controllers compared side by side. `none` serves everything at full gear. `shedder` is a reject-only
 * load shedder in the manner of @fastify/under-pressure: every sample interval it reads the process's delay and, while
 * it is above a threshold, answers every new request 503. `gearshift` is the real Regulator, fed by the simulator's
 * sensing; it decides gears and shedding and nothing else in the simulator knows its control law.
 */
import type { Clock } from '../clock.js';
import type { GearshiftConfig } from '../config/schema.js';
import type { LiveScene } from '../regulate/live.js';
import { Regulator } from '../regulate/regulator.js';
import type { TickReport } from '../regulate/events.js';
import type { SlotWindow } from './window.js';

export type ControllerKind = 'none' | 'shedder' | 'gearshift';
export const CONTROLLERS: readonly ControllerKind[] = ['none', 'shedder', 'gearshift'];

export interface SimController {
  readonly kind: ControllerKind;
  readonly periodMs: number;
  /** Live gears of a scene (null: always the normal top). */
  live(scene: string): LiveScene | null;
  /** Whether to reject a request at arrival. */
  reject(scene: string, loadTest: boolean): boolean;
  tick(): TickReport | null;
  /** Gear changes and shed steps (the shedder: its on/off flips) so far. */
  changes(): number;
  close(): void;
}

class NoControl implements SimController {
  readonly kind = 'none' as const;
  readonly periodMs = 1000;
  live = () => null;
  reject = () => false;
  tick = () => null;
  changes = () => 0;
  close = () => undefined;
}

/** Threshold on the delay a new request would wait, sampled each second (under-pressure's maxEventLoopDelay). */
class Shedder implements SimController {
  readonly kind = 'shedder' as const;
  readonly periodMs = 1000;
  private rejecting = false;
  private flips = 0;
  constructor(private readonly window: SlotWindow, private readonly maxDelayMs: number) {}
  live = () => null;
  reject = () => this.rejecting;
  tick(): null {
    const over = this.window.queueDelayMs > this.maxDelayMs;
    if (over !== this.rejecting) this.flips++;
    this.rejecting = over;
    return null;
  }
  changes = () => this.flips;
  close = () => undefined;
}

class GearshiftControl implements SimController {
  readonly kind = 'gearshift' as const;
  readonly regulator: Regulator;
  private count = 0;
  constructor(config: GearshiftConfig, clock: Clock, window: SlotWindow) {
    this.regulator = new Regulator({ config, clock, signals: window });
    this.regulator.on('change', (c) => void (c.applied && this.count++));
    // A shed step is a change the traffic feels as much as a gear's: until the twentieth session the column left
    // them out, and a shedder that flipped load tests in and out every few seconds read 0.0 changes a minute.
    this.regulator.on('shed', (e) => void (e.applied && this.count++));
  }
  get periodMs(): number {
    return this.regulator.periodMs;
  }
  live(scene: string): LiveScene | null {
    return this.regulator.scene(scene) ?? null;
  }
  reject(scene: string, loadTest: boolean): boolean {
    const l = this.regulator.scene(scene);
    return l !== undefined && l.shedding && l.shouldShed(loadTest);
  }
  tick(): TickReport {
    return this.regulator.tick();
  }
  changes = () => this.count;
  close(): void {
    this.regulator.close();
  }
}

export function makeController(kind: ControllerKind, config: GearshiftConfig, clock: Clock, window: SlotWindow, maxDelayMs: number): SimController {
  if (kind === 'none') return new NoControl();
  if (kind === 'shedder') return new Shedder(window, maxDelayMs);
  return new GearshiftControl(config, clock, window);
}
