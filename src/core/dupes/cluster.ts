/**
 * From pairs to clone classes. Joining every connected pair (single linkage) chains A~B~C~D into
 * one class even when A and D have nothing in common; star clustering instead picks the best
 * connected fragment as the class's centre (its medoid) and admits only fragments directly similar
 * to it.
 */

export interface Graph {
  /** Neighbours of a node with the similarity of each edge. */
  neighbours(node: string): ReadonlyMap<string, number> | undefined;
}

export interface Star {
  center: string;
  /** Members other than the centre, with their similarity to it. */
  members: Map<string, number>;
}

/** Nodes reachable from `seeds` (each seed included if it has an edge). */
export function componentsFrom(graph: Graph, seeds: Iterable<string>): string[][] {
  const seen = new Set<string>();
  const components: string[][] = [];
  for (const seed of seeds) {
    if (seen.has(seed) || !graph.neighbours(seed)?.size) continue;
    const component: string[] = [];
    const stack = [seed];
    seen.add(seed);
    while (stack.length > 0) {
      const node = stack.pop()!;
      component.push(node);
      for (const next of graph.neighbours(node)?.keys() ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          stack.push(next);
        }
      }
    }
    components.push(component.sort());
  }
  return components;
}

/**
 * Star clustering of one connected component. Centres are taken by decreasing degree (then total
 * similarity, then name, so the result does not depend on input order); each takes its neighbours
 * not yet placed. Then every pair not yet shown together is repaired: the second fragment joins a
 * star centred on the first (or the reverse), or the two start a new star. So every pair above
 * the bar appears in some group, every member is similar to its group's centre, and a fragment
 * similar to two different things may belong to two groups.
 */
export function starClusters(graph: Graph, nodes: readonly string[]): Star[] {
  const rank = nodes.map((node) => {
    const edges = graph.neighbours(node);
    let total = 0;
    for (const s of edges?.values() ?? []) total += s;
    return { node, degree: edges?.size ?? 0, total };
  });
  rank.sort((x, y) => y.degree - x.degree || y.total - x.total || compare(x.node, y.node));
  const order = new Map(rank.map((r, i) => [r.node, i]));
  const placed = new Set<string>();
  const stars: Star[] = [];
  const starOf = new Map<string, Star>();
  const groupsOf = new Map<string, Set<Star>>();
  const join = (star: Star, node: string) => {
    let set = groupsOf.get(node);
    if (!set) groupsOf.set(node, (set = new Set()));
    set.add(star);
  };
  for (const { node } of rank) {
    if (placed.has(node)) continue;
    const members = new Map<string, number>();
    for (const [next, sim] of graph.neighbours(node) ?? []) if (!placed.has(next)) members.set(next, sim);
    if (members.size === 0) continue;
    const star = { center: node, members };
    stars.push(star);
    starOf.set(node, star);
    placed.add(node);
    join(star, node);
    for (const m of members.keys()) {
      placed.add(m);
      join(star, m);
    }
  }
  const edges: [string, string, number][] = [];
  for (const node of nodes) {
    for (const [next, sim] of graph.neighbours(node) ?? []) if (node < next) edges.push([node, next, sim]);
  }
  edges.sort((x, y) => y[2] - x[2] || compare(x[0], y[0]) || compare(x[1], y[1]));
  for (const [a, b, sim] of edges) {
    const inA = groupsOf.get(a);
    const inB = groupsOf.get(b);
    if (inA && inB && [...inA].some((s) => inB.has(s))) continue;
    const [center, member] = starOf.has(a) ? [a, b] : starOf.has(b) ? [b, a] : order.get(a)! <= order.get(b)! ? [a, b] : [b, a];
    let star = starOf.get(center);
    if (!star) {
      star = { center, members: new Map() };
      stars.push(star);
      starOf.set(center, star);
      join(star, center);
    }
    star.members.set(member, sim);
    join(star, member);
  }
  return stars;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An undirected weighted graph kept as adjacency maps; parallel edges keep the higher weight. */
export class EdgeGraph implements Graph {
  private readonly adjacency = new Map<string, Map<string, number>>();

  neighbours(node: string): ReadonlyMap<string, number> | undefined {
    return this.adjacency.get(node);
  }

  has(node: string): boolean {
    return this.adjacency.has(node);
  }

  addEdge(a: string, b: string, weight: number): void {
    if (a === b) return;
    const ea = this.edgesOf(a);
    if ((ea.get(b) ?? -Infinity) >= weight) return;
    ea.set(b, weight);
    this.edgesOf(b).set(a, weight);
  }

  removeNode(node: string): string[] {
    const edges = this.adjacency.get(node);
    if (!edges) return [];
    for (const other of edges.keys()) {
      const back = this.adjacency.get(other);
      back?.delete(node);
      if (back && back.size === 0) this.adjacency.delete(other);
    }
    this.adjacency.delete(node);
    return [...edges.keys()];
  }

  private edgesOf(node: string): Map<string, number> {
    let edges = this.adjacency.get(node);
    if (!edges) this.adjacency.set(node, (edges = new Map()));
    return edges;
  }
}
