import { valueAt } from '../format.js';
import { useResource } from '../use-resource.js';
import { ResourceState, StatusBadge, ViewFrame } from './common.js';

export interface GraphNode {
  name: string;
  version?: string | null;
  state?: string;
  dependencies?: string[];
  error?: string | null;
  initMs?: number | null;
}

/** Depth of each node: 0 without dependencies, else one more than its deepest dependency. */
export function layersOf(nodes: GraphNode[]): GraphNode[][] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const depth = new Map<string, number>();
  const visit = (node: GraphNode, trail: Set<string>): number => {
    const known = depth.get(node.name);
    if (known !== undefined) return known;
    if (trail.has(node.name)) return 0;
    trail.add(node.name);
    const deps = (node.dependencies ?? [])
      .map((name) => byName.get(name))
      .filter((dep): dep is GraphNode => dep !== undefined);
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((dep) => visit(dep, trail)));
    trail.delete(node.name);
    depth.set(node.name, value);
    return value;
  };
  const layers: GraphNode[][] = [];
  for (const node of nodes) (layers[visit(node, new Set())] ??= []).push(node);
  return layers.filter(Boolean);
}

export function DependencyGraph({ nodes }: { nodes: GraphNode[] }) {
  const layers = layersOf(nodes);
  return (
    <div className="graph">
      {layers.map((layer, index) => (
        <section
          key={index}
          className="graph-layer"
          aria-label={index === 0 ? 'No dependencies' : `Dependency level ${index}`}
        >
          <h3 className="graph-layer-title">{index === 0 ? 'Foundation' : `Level ${index}`}</h3>
          <ul>
            {layer.map((node) => (
              <li key={node.name} className="graph-node">
                <div className="graph-node-head">
                  <strong>{node.name}</strong>
                  {node.state && <StatusBadge value={node.state} />}
                </div>
                <p className="muted small">
                  {node.version
                    ? /^\d/.test(node.version)
                      ? `v${node.version}`
                      : node.version
                    : 'no version'}
                  {typeof node.initMs === 'number' && ` · init ${node.initMs} ms`}
                </p>
                <p className="small">
                  {node.dependencies?.length
                    ? `Depends on ${node.dependencies.join(', ')}`
                    : 'No dependencies'}
                </p>
                {node.error && <p className="note note-error small">{node.error}</p>}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

export function GraphView({
  title,
  endpoint,
  nodesPath,
  refreshMs,
}: {
  title?: string;
  endpoint: string;
  nodesPath?: string;
  refreshMs?: number;
}) {
  const resource = useResource(endpoint, refreshMs);
  return (
    <ViewFrame title={title}>
      <ResourceState resource={resource}>
        {(data) => {
          const nodes = valueAt(data, nodesPath);
          return <DependencyGraph nodes={Array.isArray(nodes) ? (nodes as GraphNode[]) : []} />;
        }}
      </ResourceState>
    </ViewFrame>
  );
}
