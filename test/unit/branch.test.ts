/** Branch names and preview host names (src/middleware/branch.ts). */
import { describe, expect, it } from "vitest";
import { branchOfHost, checkBranch, databaseObjectName } from "../../src/middleware/branch.js";

describe("branches", () => {
  it("a preview alias's host name is its branch; other hosts and version previews are not", () => {
    expect(branchOfHost("feat-x-flarestore.acct.workers.dev")).toBe("feat-x");
    expect(branchOfHost("pr-12-flarestore.acct.workers.dev")).toBe("pr-12");
    expect(branchOfHost("flarestore.acct.workers.dev")).toBeUndefined();
    expect(branchOfHost("0123abcd-flarestore.acct.workers.dev")).toBeUndefined(); // a version preview
    expect(branchOfHost("feat-x-flarestore.example.com")).toBeUndefined();
    expect(branchOfHost("feat-x-other.acct.workers.dev")).toBeUndefined();
    expect(branchOfHost("feat-x-db.acct.workers.dev", "db")).toBe("feat-x");
  });

  it("branch names are preview aliases' names: lower-case letters, digits and dashes", () => {
    for (const ok of ["main", "a", "feat-x", "pr-123", "x".repeat(63)]) expect(checkBranch(ok, "b")).toBe(ok);
    for (const bad of ["", "Feat", "-x", "x-", "a_b", "a.b", "x".repeat(64), "a/b"]) {
      expect(() => checkBranch(bad, "b")).toThrow(/is not a branch name/);
    }
  });

  it("main keeps the object names databases had before branches; others are prefixed", () => {
    expect(databaseObjectName("main", { project: "p", database: "(default)" })).toBe("p/(default)");
    expect(databaseObjectName("feat-x", { project: "p", database: "(default)" })).toBe("feat-x:p/(default)");
  });
});
