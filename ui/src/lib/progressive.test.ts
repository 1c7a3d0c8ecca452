import { describe, expect, it } from "vitest";
import { firstMembers, memberCount } from "./progressive";

const groups = [
  { label: "Cambodia", members: ["a", "b", "c"] },
  { label: "Lao PDR", members: ["d", "e"] },
  { label: "Thailand", members: ["f"] },
];

describe("firstMembers", () => {
  it("keeps whole groups while they fit and cuts the one reached", () => {
    expect(firstMembers(groups, 4)).toEqual([groups[0], { label: "Lao PDR", members: ["d"] }]);
  });
  it("keeps everything when n covers all members, the same objects", () => {
    const all = firstMembers(groups, 100);
    expect(all).toEqual(groups);
    expect(all[1]).toBe(groups[1]);
  });
  it("keeps nothing for n of zero or less", () => {
    expect(firstMembers(groups, 0)).toEqual([]);
    expect(firstMembers(groups, -3)).toEqual([]);
  });
  it("stops exactly at a group's end", () => {
    expect(firstMembers(groups, 3)).toEqual([groups[0]]);
    expect(memberCount(firstMembers(groups, 5))).toBe(5);
  });
});
