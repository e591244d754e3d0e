import { HttpError } from '../../core/errors.js';
import type { ServiceController } from './controller.js';
import type { TrafficServiceConfig } from './options.js';
import type { Orchestrator, SlotRuntime } from './orchestrators/types.js';
import type { SlotQuestion } from './shared-store.js';
import type { MachineSettings } from './state.js';
import {
  serviceView,
  slotView,
  transitionView,
  type ServiceView,
  type SlotView,
  type TransitionView,
} from './view.js';

export type TrafficRole = 'standalone' | 'leader' | 'follower';

export interface ManagedService {
  config: TrafficServiceConfig;
  settings: MachineSettings;
  route: string;
  controller: ServiceController;
}

/**
 * The `traffic` service (`ctx.get('traffic')`): what the HTTP API, the CLI and other plugins
 * use to look at and steer deployments.
 * @example await ctx.get('traffic').deploy('api', 'v2', 'ops')
 */
export class Traffic {
  constructor(
    private readonly managed: Map<string, ManagedService>,
    private readonly orchestrator: Orchestrator,
    private readonly now: () => number,
    private readonly replicaRole: () => TrafficRole = () => 'standalone',
    /** With gateways sharing the state: asks the slot's orchestrator through the driving one. */
    private readonly ask?: (service: string, question: SlotQuestion) => Promise<unknown>,
  ) {}

  /**
   * `standalone` (the only gateway), or with gateways sharing the state on PostgreSQL `leader`
   * (this one drives the orchestrator) or `follower` (it routes as the leader saved).
   */
  role(): TrafficRole {
    return this.replicaRole();
  }

  serviceNames(): string[] {
    return [...this.managed.keys()];
  }

  services(): ServiceView[] {
    return this.serviceNames().map((name) => this.service(name));
  }

  service(name: string): ServiceView {
    const { controller, config, settings, route } = this.get(name);
    return serviceView(controller.state, this.now(), config, settings, route);
  }

  /** Every slot of every service, for tables. */
  slots(): SlotView[] {
    return [...this.managed.values()].flatMap(({ controller, config, settings }) =>
      controller.state.slots.map((slot) =>
        slotView(controller.name, slot, this.now(), config, settings),
      ),
    );
  }

  async deploy(
    service: string,
    version: string,
    actor: string,
    force = false,
  ): Promise<ServiceView> {
    await this.get(service).controller.command({ type: 'deploy', version, actor, force });
    return this.service(service);
  }

  async promote(service: string, actor: string): Promise<ServiceView> {
    await this.get(service).controller.command({ type: 'promote', actor });
    return this.service(service);
  }

  async rollback(service: string, actor: string): Promise<ServiceView> {
    await this.get(service).controller.command({ type: 'rollback', actor });
    return this.service(service);
  }

  async abort(service: string, actor: string): Promise<ServiceView> {
    await this.get(service).controller.command({ type: 'abort', actor });
    return this.service(service);
  }

  /** Transitions, newest first. */
  history(service: string | undefined, limit: number): TransitionView[] {
    const sources = service === undefined ? [...this.managed.values()] : [this.get(service)];
    // Transitions of one step share a millisecond: the recording order breaks the tie.
    return sources
      .flatMap(({ controller }) =>
        controller.state.history.map((transition, index) => ({ transition, index })),
      )
      .sort((a, b) => b.transition.at - a.transition.at || b.index - a.index)
      .slice(0, limit)
      .map(({ transition }) => transitionView(transition));
  }

  async runtime(service: string, slot: string): Promise<SlotRuntime> {
    this.slot(service, slot);
    if (this.ask) return (await this.ask(service, { type: 'runtime', slot })) as SlotRuntime;
    return this.orchestrator.status({ service, slot });
  }

  async logs(service: string, slot: string, limit: number): Promise<string[]> {
    this.slot(service, slot);
    if (this.ask) return (await this.ask(service, { type: 'logs', slot, limit })) as string[];
    return this.orchestrator.logs({ service, slot }, limit);
  }

  private slot(service: string, slot: string): void {
    if (!this.get(service).controller.state.slots.some((entry) => entry.id === slot)) {
      throw new HttpError(
        404,
        'TRAFFIC_SLOT_NOT_FOUND',
        `No slot "${slot}" in ${service}; slots: ${this.get(service).config.slots.join(', ')}.`,
      );
    }
  }

  private get(name: string): ManagedService {
    const managed = this.managed.get(name);
    if (!managed)
      throw new HttpError(
        404,
        'TRAFFIC_SERVICE_NOT_FOUND',
        `No service "${name}"; known: ${this.serviceNames().join(', ')}.`,
      );
    return managed;
  }
}
