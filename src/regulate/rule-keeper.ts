/**
 * What schedule rules set (caps, pins, mode, goal set, a template a holding mode keeps), and who set each last: a
 * rule, or an operator's command (a restore counts as one). A rule falling due applies its settings; a start or a
 * restore replays the state the rules left; a reload re-derives the rules' share under the new config and leaves
 * the operator's. The regulator owns the state itself and lends the keeper its setters (`RuleTarget`).
 */
import type { GearSet, RegulatorMode, ScheduleRule } from '../config/schema-regulate.js';
import { type DueRule, ruleState } from './schedule.js';

/** The regulator's setters a rule uses; each changes state only, none marks who set it. */
export interface RuleTarget {
  readonly mode: () => RegulatorMode;
  readonly goalSet: () => string | null;
  readonly switchGoalSet: (name: string | null) => void;
  readonly replaceCaps: (set: GearSet) => void;
  readonly replacePins: (set: GearSet) => void;
  readonly putTemplate: (name: string) => void;
  readonly switchMode: (mode: RegulatorMode, reason: string) => void;
  readonly setFastRecovery: (on: boolean) => void;
  /** Moves now the gears the limits in force break (see Regulator.applyLimits). */
  readonly applyLimits: () => void;
  readonly ruleFired: (e: { index: number; name?: string; at: number }) => void;
}

export type RuleSetting = 'caps' | 'pins' | 'mode' | 'goalSet' | 'template';

export class RuleKeeper {
  /** Which settings an operator's command set last: a reload keeps these and re-derives the rest (see `reload`). */
  private readonly byOperator: Record<RuleSetting, boolean> = { caps: false, pins: false, mode: false, goalSet: false, template: false };

  constructor(private readonly target: RuleTarget) {}

  /** An operator's command set `setting`: it holds until a rule sets it again. */
  operatorSet(setting: RuleSetting): void {
    this.byOperator[setting] = true;
  }

  /**
   * A restore: where a snapshot's caps, pins, mode, goal set and gears came from, it does not say, so a reload keeps
   * them, as it keeps an operator's (until a rule sets them again).
   */
  restored(): void {
    for (const k of Object.keys(this.byOperator) as RuleSetting[]) this.byOperator[k] = true;
  }

  /**
   * The state the rules left, in time order (a start, or a restore across downtime). A template is an action and is
   * not replayed, except while the mode has held every gear since it was applied (`fixed`, `frozen`): then its
   * gears are the state. A restart inside a preset window (19:59 a template with `fixed`, 20:01 `auto`) otherwise
   * sat out the preset at the top gears.
   */
  replay(rules: readonly DueRule[]): void {
    const held = ruleState(rules, this.target.mode()).template;
    for (const due of rules) this.apply(due.rule, due.index, due.at, true);
    if (held !== undefined) {
      this.target.putTemplate(held);
      this.byOperator.template = false;
    }
  }

  /** A rule falling due (`replay` false) or replayed: what it sets is the rules' until an operator's command sets it. */
  apply(rule: ScheduleRule, index: number, at: number, replay: boolean): void {
    const [t, op] = [this.target, this.byOperator];
    if (rule.goals !== undefined) {
      t.switchGoalSet(rule.goals === 'default' ? null : rule.goals);
      op.goalSet = false;
    }
    if (rule.caps) {
      t.replaceCaps(rule.caps); // from the validated config; the tick's step enforces them (see Regulator.applyLimits)
      op.caps = false;
    }
    if (rule.fixed) {
      t.replacePins(rule.fixed);
      op.pins = false;
    }
    if (!replay && rule.template !== undefined) {
      t.putTemplate(rule.template);
      op.template = false;
    }
    if (rule.mode) {
      t.switchMode(rule.mode, `schedule ${rule.name ?? rule.at}`);
      op.mode = false;
    }
    if (!replay && rule.fastRecovery !== undefined) t.setFastRecovery(rule.fastRecovery);
    t.ruleFired({ index, name: rule.name, at });
  }

  /**
   * After a reload: what the rules `due` now (the new config's, replayed to this moment) set is re-derived, as a
   * start at this moment has it, unless an operator's command set it since. Until the twenty-second session a reload
   * carried it by name as if an operator had set it: a rule's cap or template missed a point the reload renamed, and
   * a preset whose rules the reload removed stayed in force for good. The moves the new limits force are reported;
   * the rules fire no `rule` event (they fired when they fell due).
   * @param configMode     the new config's `regulator.mode`
   * @param modeBefore     the old config's
   */
  reload(due: readonly DueRule[], configMode: RegulatorMode, modeBefore: RegulatorMode): void {
    const [t, op] = [this.target, this.byOperator];
    const rules = ruleState(due, configMode);
    if (!op.goalSet && (rules.goals ?? null) !== t.goalSet()) t.switchGoalSet(rules.goals ?? null);
    if (!op.caps) t.replaceCaps(rules.caps ?? {});
    if (!op.pins) t.replacePins(rules.fixed ?? {});
    // A config whose own mode changed runs in it (until a rule or an operator switches); one that did not leaves an
    // operator's mode, and the rules' as they are now.
    const ruled = configMode === modeBefore && !op.mode;
    if (configMode !== modeBefore) op.mode = false;
    const mode = ruled ? rules.mode : configMode !== modeBefore ? configMode : t.mode();
    if (mode !== t.mode()) t.switchMode(mode, 'reload');
    t.applyLimits();
    if (ruled && !op.template && rules.template !== undefined) t.putTemplate(rules.template);
  }
}
