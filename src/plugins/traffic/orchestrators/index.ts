import type { Logger } from 'pino';
import type { OrchestratorConfig } from './options.js';
import type { Orchestrator, ServiceLayout } from './types.js';

export type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

/**
 * Builds the configured orchestrator; each is imported only when chosen. `childEnv` is what
 * every local release process gets besides its own env (the gateway's MANAGEMENT_TOKEN).
 */
export async function createOrchestrator(
  config: OrchestratorConfig,
  layout: readonly ServiceLayout[],
  logger: Logger,
  childEnv: Readonly<Record<string, string>> = {},
): Promise<Orchestrator> {
  switch (config.type) {
    case 'process': {
      const { ProcessOrchestrator } = await import('./process.js');
      return new ProcessOrchestrator(config, layout, logger, childEnv);
    }
    case 'kubernetes': {
      const { KubernetesOrchestrator } = await import('./kubernetes.js');
      return KubernetesOrchestrator.create(config, layout, logger);
    }
    case 'caprover': {
      const { CaproverOrchestrator } = await import('./caprover.js');
      return new CaproverOrchestrator(config, layout, logger);
    }
    case 'docker': {
      const { DockerOrchestrator } = await import('./docker.js');
      return new DockerOrchestrator(config, layout, logger);
    }
  }
}
