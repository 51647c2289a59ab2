/**
 * A DevTools-protocol session with a server started with `--inspect`: CPU profiles
 * (bench/profile.ts) and the live heap after a full collection (bench/memory.ts).
 *
 * @module
 */

/** A session: send a method, get its result. */
export interface Inspector {
  send<T>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Receives the session's events (`HeapProfiler.addHeapSnapshotChunk`, …). */
  onEvent?: (method: string, params: Record<string, unknown>) => void;
  close(): void;
}

/** A DevTools-protocol session over the inspector's WebSocket. */
export async function inspect(port: number): Promise<Inspector> {
  let targets: { webSocketDebuggerUrl: string }[] = [];
  for (let tries = 0; tries < 300 && targets.length === 0; tries++) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  const session: Inspector = {
    send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      id += 1;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve) => pending.set(id, resolve as (r: unknown) => void));
    },
    close: () => ws.close(),
  };
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
    else session.onEvent?.(msg.method, msg.params);
  };
  return session;
}

/** The live JavaScript heap in MiB: used size right after a full garbage collection. */
export async function liveHeapMiB(session: Inspector): Promise<number> {
  await session.send("HeapProfiler.collectGarbage");
  const { usedSize } = await session.send<{ usedSize: number }>("Runtime.getHeapUsage");
  return usedSize / 2 ** 20;
}

/** Self size of the live heap by what holds it (constructor or kind), largest first, in bytes. */
export async function heapByKind(session: Inspector): Promise<[string, number, number][]> {
  let text = "";
  session.onEvent = (method, params) => {
    if (method === "HeapProfiler.addHeapSnapshotChunk") text += params.chunk as string;
  };
  await session.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  session.onEvent = undefined;
  const snapshot = JSON.parse(text) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [type, name, size] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const totals = new Map<string, [number, number]>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const kind = types[snapshot.nodes[i + type!]!]!;
    const label = kind === "object" || kind === "closure"
      ? `${kind} ${snapshot.strings[snapshot.nodes[i + name!]!]}`
      : kind;
    const t = totals.get(label) ?? [0, 0];
    t[0] += snapshot.nodes[i + size!]!;
    t[1] += 1;
    totals.set(label, t);
  }
  return [...totals].map(([k, [b, n]]) => [k, b, n] as [string, number, number]).sort((a, b) =>
    b[1] - a[1]
  );
}
