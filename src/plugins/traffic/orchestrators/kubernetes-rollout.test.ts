import { describe, expect, it } from 'vitest';
import { podFailure, rolloutOf, type DeploymentStatusView } from './kubernetes-rollout.js';

/** Deployment status shapes as kube-controller-manager writes them during a rolling update. */
const deployment = (
  status: NonNullable<DeploymentStatusView['status']>,
  replicas = 2,
  generation = 3,
): DeploymentStatusView => ({ metadata: { generation }, spec: { replicas }, status });

describe('rollout status of a Deployment', () => {
  it('is complete only when the current generation is observed and every replica is updated and available', () => {
    expect(
      rolloutOf(
        deployment({
          observedGeneration: 3,
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 2,
          availableReplicas: 2,
        }),
      ),
    ).toEqual({
      state: 'running',
      detail: '2/2 replicas available',
      failed: false,
      complete: true,
    });
  });

  it('is not complete while the controller has not seen the new generation, though all were ready', () => {
    const rollout = rolloutOf(
      deployment({
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      }),
    );
    expect(rollout).toMatchObject({ state: 'starting', complete: false });
    expect(rollout.detail).toBe('waiting for the deployment controller to observe generation 3');
  });

  it('counts old ReplicaSet pods as not done: ready replicas of the old release are no rollout', () => {
    expect(
      rolloutOf(
        deployment({
          observedGeneration: 3,
          replicas: 3,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
        }),
      ).detail,
    ).toBe('1 of 2 replicas updated');
    expect(
      rolloutOf(
        deployment({
          observedGeneration: 3,
          replicas: 3,
          updatedReplicas: 2,
          readyReplicas: 3,
          availableReplicas: 3,
        }),
      ).detail,
    ).toBe('1 old replicas pending termination');
    expect(
      rolloutOf(
        deployment({
          observedGeneration: 3,
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 1,
          availableReplicas: 1,
        }),
      ).detail,
    ).toBe('1 of 2 updated replicas available');
  });

  it('fails when Progressing reports ProgressDeadlineExceeded', () => {
    const rollout = rolloutOf(
      deployment({
        observedGeneration: 3,
        replicas: 3,
        updatedReplicas: 1,
        availableReplicas: 2,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "api-slot-b-5c6f" has timed out progressing.',
          },
        ],
      }),
    );
    expect(rollout).toEqual({
      state: 'exited',
      detail:
        'rollout failed: ProgressDeadlineExceeded (ReplicaSet "api-slot-b-5c6f" has timed out progressing.)',
      failed: true,
      complete: false,
    });
  });

  it('is stopped once scaled to zero and no replica is left', () => {
    expect(rolloutOf(deployment({ observedGeneration: 3, replicas: 1 }, 0)).detail).toBe(
      'scaling to 0: 1 replicas left',
    );
    expect(rolloutOf(deployment({ observedGeneration: 3 }, 0))).toMatchObject({
      state: 'stopped',
      complete: true,
    });
  });
});

describe('pod failures', () => {
  it('names a crash loop, an image that cannot be pulled and a failed pod; a pod starting is fine', () => {
    const pod = (status: object) => ({ metadata: { name: 'api-slot-a-x' }, status });
    expect(
      podFailure(
        pod({
          phase: 'Running',
          containerStatuses: [
            {
              name: 'api',
              restartCount: 4,
              state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
            },
          ],
        }),
      ),
    ).toBe('pod api-slot-a-x container api: CrashLoopBackOff after 4 restarts (back-off 40s)');
    expect(
      podFailure(
        pod({
          phase: 'Pending',
          containerStatuses: [{ name: 'api', state: { waiting: { reason: 'ImagePullBackOff' } } }],
        }),
      ),
    ).toBe('pod api-slot-a-x container api: ImagePullBackOff');
    expect(podFailure(pod({ phase: 'Failed', reason: 'Evicted' }))).toBe(
      'pod api-slot-a-x failed: Evicted',
    );
    expect(
      podFailure(
        pod({
          phase: 'Pending',
          containerStatuses: [{ name: 'api', state: { waiting: { reason: 'ContainerCreating' } } }],
        }),
      ),
    ).toBeUndefined();
  });
});
