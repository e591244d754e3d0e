import type { SlotRuntime } from './types.js';

/** The fields of a Deployment its rollout status is read from. */
export interface DeploymentStatusView {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface Rollout extends SlotRuntime {
  /** The rollout cannot finish on its own: the Progressing condition says the deadline passed. */
  failed: boolean;
  /** Every replica runs the current template and is available; no old replica is left. */
  complete: boolean;
}

/**
 * The rollout status as `kubectl rollout status` judges it. `readyReplicas` alone is not enough:
 * it counts pods of an old ReplicaSet too, and says nothing of a stuck rollout. The controller
 * must have seen the current generation, every replica must be updated and available, no old
 * replica may remain, and `Progressing` must not report `ProgressDeadlineExceeded`.
 */
export function rolloutOf(deployment: DeploymentStatusView): Rollout {
  const wanted = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const generation = deployment.metadata.generation ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  const progressing = status.conditions?.find((condition) => condition.type === 'Progressing');
  const pending = (detail: string): Rollout => ({
    state: 'starting',
    detail,
    failed: false,
    complete: false,
  });

  if ((status.observedGeneration ?? 0) < generation)
    return pending(`waiting for the deployment controller to observe generation ${generation}`);
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return {
      state: 'exited',
      detail: `rollout failed: ProgressDeadlineExceeded${progressing.message ? ` (${progressing.message})` : ''}`,
      failed: true,
      complete: false,
    };
  if (wanted === 0)
    return total === 0
      ? { state: 'stopped', detail: 'scaled to 0', failed: false, complete: true }
      : pending(`scaling to 0: ${total} replicas left`);
  if (updated < wanted) return pending(`${updated} of ${wanted} replicas updated`);
  if (total > updated) return pending(`${total - updated} old replicas pending termination`);
  if (available < updated) return pending(`${available} of ${updated} updated replicas available`);
  return {
    state: 'running',
    detail: `${available}/${wanted} replicas available`,
    failed: false,
    complete: true,
  };
}

/** The parts of a Pod a crash is read from. */
export interface PodStatusView {
  metadata: { name: string };
  status?: {
    phase?: string;
    reason?: string;
    containerStatuses?: {
      name: string;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string } };
    }[];
  };
}

/** Waiting reasons that mean the container will not run without someone fixing something. */
const BROKEN = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** Why a pod is broken (crash loop, image that cannot be pulled, pod failed), or undefined. */
export function podFailure(pod: PodStatusView): string | undefined {
  const status = pod.status ?? {};
  if (status.phase === 'Failed')
    return `pod ${pod.metadata.name} failed${status.reason ? `: ${status.reason}` : ''}`;
  for (const container of status.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    if (waiting?.reason && BROKEN.has(waiting.reason))
      return `pod ${pod.metadata.name} container ${container.name}: ${waiting.reason}${
        container.restartCount ? ` after ${container.restartCount} restarts` : ''
      }${waiting.message ? ` (${waiting.message})` : ''}`;
  }
  return undefined;
}
