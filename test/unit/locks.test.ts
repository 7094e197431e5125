import { describe, expect, it } from "vitest";
import { DeadlockVictim, type LockOwner, LockTable } from "../../durable-objects/database/locks.js";

function owner(id: string, age: number, abortable = true): LockOwner {
  return { id, age, abortable };
}

function table() {
  const owners = new Map<string, LockOwner>();
  const victims: string[] = [];
  const locks: LockTable = new LockTable((victim) => {
    victims.push(victim);
    locks.abortWaiter(victim, new Error(`aborted ${victim}`));
    locks.releaseAll(victim);
  });
  const acquire = (o: LockOwner, path: string) => {
    owners.set(o.id, o);
    return locks.acquire(o, path, (id) => owners.get(id));
  };
  return { locks, victims, acquire };
}

const settled = async (p: Promise<void> | null) => {
  if (p === null) return "granted";
  return Promise.race([
    p.then(
      () => "granted",
      (e) => (e instanceof DeadlockVictim ? "victim" : `rejected: ${(e as Error).message}`),
    ),
    new Promise((r) => setTimeout(() => r("waiting"), 10)),
  ]);
};

describe("LockTable", () => {
  it("grants free locks at once and re-grants held ones to their owner", async () => {
    const { acquire, locks } = table();
    const a = owner("a", 1);
    expect(acquire(a, "x")).toBeNull();
    expect(acquire(a, "x")).toBeNull();
    expect(locks.holderOf("x")).toBe("a");
  });

  it("queues waiters in FIFO order and hands the lock over on release", async () => {
    const { acquire, locks } = table();
    const [a, b, c] = [owner("a", 1), owner("b", 2), owner("c", 3)];
    acquire(a, "x");
    const pb = acquire(b, "x");
    const pc = acquire(c, "x");
    expect(await settled(pb)).toBe("waiting");
    expect(locks.isBlockingOthers("a")).toBe(true);
    locks.releaseAll("a");
    expect(await settled(pb)).toBe("granted");
    expect(await settled(pc)).toBe("waiting");
    expect(locks.holderOf("x")).toBe("b");
    locks.releaseAll("b");
    expect(await settled(pc)).toBe("granted");
    expect(locks.hasWaiters()).toBe(false);
  });

  it("aborts the youngest transaction of a two-way deadlock (requester younger)", async () => {
    const { acquire, victims } = table();
    const [old, young] = [owner("old", 1), owner("young", 2)];
    acquire(old, "x");
    acquire(young, "y");
    const pOld = acquire(old, "y");
    expect(await settled(pOld)).toBe("waiting");
    expect(await settled(acquire(young, "x"))).toBe("victim");
    expect(victims).toEqual([]); // the requester itself lost: the caller aborts it
  });

  it("aborts the youngest of the cycle even when the older one closes it", async () => {
    const { acquire, victims, locks } = table();
    const [old, young] = [owner("old", 1), owner("young", 2)];
    acquire(old, "x");
    acquire(young, "y");
    const pYoung = acquire(young, "x");
    const pOld = acquire(old, "y");
    expect(await settled(pYoung)).toBe("rejected: aborted young");
    expect(victims).toEqual(["young"]);
    expect(await settled(pOld)).toBe("granted");
    expect(locks.holderOf("y")).toBe("old");
  });

  it("detects longer cycles and never picks a non-abortable owner", async () => {
    const { acquire, victims } = table();
    const [a, b, plain] = [owner("a", 1), owner("b", 2), owner("commit:1", 0, false)];
    acquire(a, "x");
    acquire(b, "y");
    acquire(plain, "z");
    const pa = acquire(a, "y"); // a → b
    const pb = acquire(b, "z"); // b → plain
    expect(await settled(pa)).toBe("waiting");
    expect(await settled(pb)).toBe("waiting");
    // plain → a closes a → b → plain → a; plain is not abortable, b is the youngest abortable.
    const pp = acquire(plain, "x");
    expect(victims).toEqual(["b"]);
    expect(await settled(pb)).toBe("rejected: aborted b");
    expect(await settled(pa)).toBe("granted");
    expect(await settled(pp)).toBe("waiting");
  });

  it("abortWaiter removes a waiter from the queue", async () => {
    const { acquire, locks } = table();
    const [a, b, c] = [owner("a", 1), owner("b", 2), owner("c", 3)];
    acquire(a, "x");
    const pb = acquire(b, "x");
    const pc = acquire(c, "x");
    locks.abortWaiter("b", new Error("gone"));
    expect(await settled(pb)).toBe("rejected: gone");
    locks.releaseAll("a");
    expect(await settled(pc)).toBe("granted");
  });
});
