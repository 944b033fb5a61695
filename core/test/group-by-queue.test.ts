import { expect, it } from "vitest";
import { indexesByQueue } from "../src/index.ts";

it("indexesByQueue groups a batch's positions by queue, queues in order of first appearance", () => {
  const groups = indexesByQueue([{ queue: "b" }, { queue: "a" }, { queue: "b" }, { queue: "c" }, { queue: "a" }]);
  expect([...groups]).toEqual([
    ["b", [0, 2]],
    ["a", [1, 4]],
    ["c", [3]],
  ]);
  expect(indexesByQueue([]).size).toBe(0);
});
