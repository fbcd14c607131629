// The account graph (graphology): accounts linked through the devices, card tokens and shipping
// addresses they use, one graph per tenant (a tenant's ring is never linked to another tenant's
// accounts, and no signal reads across tenants). Ids are the tokens the events carry (PII is
// tokenized at ingestion). Kept incrementally in event time, bounded: links idle longer than
// `ttlUs` are dropped by a periodic sweep, and past `maxNodes` per tenant the oldest nodes go.
//
// What detectors read (FraudContext.ring): the size of the account's connected component within
// `windowUs` (accounts, and the shared entities joining them) and its growth — accounts that joined
// the component's links within the last hour. A coordinated ring is many accounts joined by a few
// shared devices/cards/addresses; synthetic identities show as a component that keeps growing with
// brand-new accounts. The walk stops at `maxVisit` nodes, so a public kiosk device shared by
// thousands costs the same as a small ring (the answer then says `capped`).
import { createIncrementalSweep } from '../../core/sweep';
import Graph from 'graphology';
import { HOUR_US } from './detector';
import type { FraudEvent } from '../../core/fraud-signals';

export interface RingView {
  /** Accounts in the component (this one included) over links active within the window. */
  accounts: number;
  /** Devices, cards and addresses joining them. */
  shared: number;
  /** Accounts of the component whose first link is within the last hour (this one included if new). */
  newAccounts: number;
  /** The walk reached maxVisit: the component is at least this big. */
  capped: boolean;
}

export interface AccountGraphOptions {
  /** Links older than this (event time) do not join a component. Default 24 h. */
  windowUs?: number;
  /** Links idle this long are removed by the sweep. Default 25 h. */
  ttlUs?: number;
  /** Nodes per tenant; past it the oldest tenth goes. Default 50,000. */
  maxNodes?: number;
  /** Nodes one walk may visit. Default 400. */
  maxVisit?: number;
  /** The idle sweep examines every tenant's graph at least once per this many links (one graph at a time). Default 16,384. */
  sweepEvery?: number;
}

export interface AccountGraph {
  /** Links the event's account to its device, card and shipping address, then reads its component. */
  update(e: FraudEvent): RingView;
  /** Nodes over all tenants. */
  readonly size: number;
}

interface NodeAttributes {
  kind: 'account' | 'device' | 'card' | 'address';
  /** First and latest event time the node was linked at. */
  firstUs: number;
  lastUs: number;
}

interface EdgeAttributes {
  lastUs: number;
}

const EMPTY: RingView = { accounts: 1, shared: 0, newAccounts: 0, capped: false };

export function createAccountGraph(opts: AccountGraphOptions = {}): AccountGraph {
  const windowUs = opts.windowUs ?? 24 * HOUR_US;
  const ttlUs = opts.ttlUs ?? 25 * HOUR_US;
  const maxNodes = opts.maxNodes ?? 50_000;
  const maxVisit = opts.maxVisit ?? 400;
  const sweepEvery = opts.sweepEvery ?? 16_384;
  const graphs = new Map<string, Graph<NodeAttributes, EdgeAttributes>>();
  let nowUs = -Infinity;

  function graphOf(tenant: string): Graph<NodeAttributes, EdgeAttributes> {
    let g = graphs.get(tenant);
    if (!g) graphs.set(tenant, (g = new Graph<NodeAttributes, EdgeAttributes>({ type: 'undirected', multi: false, allowSelfLoops: false })));
    return g;
  }

  function touch(g: Graph<NodeAttributes, EdgeAttributes>, node: string, kind: NodeAttributes['kind'], us: number): void {
    if (!g.hasNode(node)) {
      if (g.order >= maxNodes) {
        // insertion order approximates age: drop the oldest tenth
        let drop = Math.ceil(maxNodes / 10);
        for (const old of g.nodes()) {
          if (drop-- <= 0) break;
          g.dropNode(old);
        }
      }
      g.addNode(node, { kind, firstUs: us, lastUs: us });
      return;
    }
    const a = g.getNodeAttributes(node);
    if (us > a.lastUs) a.lastUs = us;
    if (us < a.firstUs) a.firstUs = us;
  }

  /** Drops a tenant's idle links, then its idle nodes left without any. */
  function sweepTenant(tenant: string, g: Graph<NodeAttributes, EdgeAttributes>): void {
    g.forEachEdge((edge, attr) => {
      if (nowUs - attr.lastUs > ttlUs) g.dropEdge(edge);
    });
    for (const node of g.nodes()) if (g.degree(node) === 0 && nowUs - g.getNodeAttribute(node, 'lastUs') > ttlUs) g.dropNode(node);
    if (g.order === 0) graphs.delete(tenant);
  }
  /** One tenant's graph at a time, spread over the links (core/sweep.ts). */
  const idle = createIncrementalSweep({ items: () => graphs.entries(), size: () => graphs.size, every: sweepEvery, visit: ([tenant, g]) => sweepTenant(tenant, g) });

  /** Breadth-first over links active within the window, at most maxVisit nodes. */
  function component(g: Graph<NodeAttributes, EdgeAttributes>, start: string, us: number): RingView {
    const seen = new Set<string>([start]);
    const queue = [start];
    let accounts = 0;
    let shared = 0;
    let newAccounts = 0;
    let capped = false;
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i];
      const attr = g.getNodeAttributes(node);
      if (attr.kind === 'account') {
        accounts++;
        if (us - attr.firstUs <= HOUR_US) newAccounts++;
      } else shared++;
      g.forEachEdge(node, (_edge, e, source, target) => {
        if (capped || us - e.lastUs > windowUs) return;
        const next = source === node ? target : source;
        if (seen.has(next)) return;
        if (seen.size >= maxVisit) {
          capped = true;
          return;
        }
        seen.add(next);
        queue.push(next);
      });
    }
    return { accounts, shared, newAccounts, capped };
  }

  return {
    update(e) {
      const account = e.userId ?? e.anonymousId;
      const links: [string, NodeAttributes['kind']][] = [];
      if (e.device) links.push([`d:${e.device}`, 'device']);
      if (e.card) links.push([`c:${e.card}`, 'card']);
      if (e.shipping?.addressKey) links.push([`s:${e.shipping.addressKey}`, 'address']);
      if (!account || links.length === 0) return EMPTY;
      if (e.timeUs > nowUs) nowUs = e.timeUs;
      const g = graphOf(e.tenant);
      const a = `a:${account}`;
      touch(g, a, 'account', e.timeUs);
      for (const [node, kind] of links) {
        touch(g, node, kind, e.timeUs);
        // a node may have been evicted by the touch just before: link only what is there
        if (!g.hasNode(a) || !g.hasNode(node)) continue;
        if (!g.hasEdge(a, node)) g.addEdge(a, node, { lastUs: e.timeUs });
        else {
          // the attributes object itself, as touch() does for nodes: setEdgeAttribute would emit
          // an update event (an object and a dispatch per link and event) that nothing listens to
          const attr = g.getEdgeAttributes(a, node);
          if (e.timeUs > attr.lastUs) attr.lastUs = e.timeUs;
        }
      }
      idle.step();
      return g.hasNode(a) ? component(g, a, e.timeUs) : EMPTY;
    },
    get size() {
      let n = 0;
      for (const g of graphs.values()) n += g.order;
      return n;
    },
  };
}
