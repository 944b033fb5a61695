import { describe, expect, it } from "vitest";
import { encodeJson, SerializationError } from "../src/index.ts";

describe("encodeJson", () => {
  it.each([
    ["a string", "hi"],
    ["a number", 1.5],
    ["null", null],
    ["nested values", { a: [1, { b: "c" }], d: true }],
    ["an object without prototype", Object.assign(Object.create(null), { a: 1 })],
  ])("accepts %s", (_, value) => {
    expect(JSON.parse(encodeJson("core", value))).toEqual(value);
  });

  it("drops undefined object properties, as optional fields produce them", () => {
    expect(encodeJson("core", { a: 1, b: undefined })).toBe('{"a":1}');
  });

  it.each([
    ["undefined at the top", undefined, "$"],
    ["a function", { f: () => 1 }, "$.f"],
    ["a BigInt", { n: [1n] }, "$.n[0]"],
    ["NaN", { deep: { n: Number.NaN } }, "$.deep.n"],
    ["-Infinity", [Number.NEGATIVE_INFINITY], "$[0]"],
    ["a Date", { at: new Date() }, "$.at"],
    ["a Map", new Map(), "$"],
    ["a class instance", { x: new (class Point {})() }, "$.x"],
    ["undefined in an array", [undefined], "$[0]"],
    ["a symbol", Symbol("s"), "$"],
  ])("refuses %s, naming where", (_, value, path) => {
    const error = (() => {
      try {
        encodeJson("memory", value);
      } catch (e) {
        return e;
      }
    })() as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.path).toBe(path);
    expect(error.message).toMatch(/^\[taskport\] \[memory\] payload is not JSON/);
    expect(error.message).toContain("Nothing was enqueued");
  });

  it("refuses a cycle but accepts the same object twice (a DAG)", () => {
    const shared = { x: 1 };
    expect(encodeJson("core", { a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const nested = { y: { z: [1] } };
    expect(encodeJson("core", [{ a: nested, b: [nested, nested] }, nested])).toBe(
      '[{"a":{"y":{"z":[1]}},"b":[{"y":{"z":[1]}},{"y":{"z":[1]}}]},{"y":{"z":[1]}}]',
    );
    const looped: unknown[] = [1];
    looped.push([looped]);
    expect(() => encodeJson("core", { list: looped })).toThrow(/\$\.list\[1\]\[0\] is a circular reference/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = { back: cyclic };
    expect(() => encodeJson("core", cyclic)).toThrow(/\$\.self\.back is a circular reference/);
  });

  it("gives a hint for dates", () => {
    expect(() => encodeJson("core", { at: new Date() })).toThrow(/toISOString/);
  });
});
