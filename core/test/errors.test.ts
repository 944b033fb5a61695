import { describe, expect, it } from "vitest";
import * as core from "../src/index.ts";
import { TaskportError } from "../src/index.ts";

/** Every error class core exports, found by what it is rather than listed by hand. */
const classes = Object.entries(core).filter(
  (entry): entry is [string, typeof TaskportError] =>
    typeof entry[1] === "function" && (entry[1] === TaskportError || entry[1].prototype instanceof TaskportError),
);

/** An instance of any of them: their constructors take the origin first; a string and arrays fill the rest. */
function instanceOf(ErrorClass: object): TaskportError {
  const Any = ErrorClass as unknown as new (...args: unknown[]) => TaskportError;
  return new Any("core", "a message", [], []);
}

describe("errors", () => {
  it("core exports every class of the hierarchy", () => {
    expect(classes.map(([name]) => name).sort()).toEqual(
      expect.arrayContaining(["ConfigurationError", "ConnectionError", "TaskportError", "TimeoutError", "UnsupportedFeatureError"]),
    );
    expect(classes.length).toBeGreaterThanOrEqual(12);
  });

  it.each(classes)("%s has its class name as name and a stable TASKPORT_ code of its own", (exported, ErrorClass) => {
    const error = instanceOf(ErrorClass);
    expect(error.name).toBe(exported);
    expect(error.code).toMatch(/^TASKPORT_[A-Z_]+$/);
    expect(error).toBeInstanceOf(TaskportError);
    expect(error.message).toMatch(/^\[taskport\] \[core\] /);
  });

  it("codes are unique", () => {
    const codes = classes.map(([, ErrorClass]) => instanceOf(ErrorClass).code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(instanceOf(core.UnsupportedFeatureError).code).toBe("TASKPORT_UNSUPPORTED_FEATURE");
  });

  it("name and code survive a minifier renaming the classes", () => {
    const renamed = classes.map(([, ErrorClass]) => [ErrorClass, Object.getOwnPropertyDescriptor(ErrorClass, "name")] as const);
    try {
      for (const [ErrorClass] of renamed) Object.defineProperty(ErrorClass, "name", { value: "g" });
      for (const [exported, ErrorClass] of classes) expect(instanceOf(ErrorClass).name).toBe(exported);
    } finally {
      for (const [ErrorClass, descriptor] of renamed) if (descriptor) Object.defineProperty(ErrorClass, "name", descriptor);
    }
  });

  it("another library's subclass keeps its own class name", () => {
    class DeliveryLimitError extends TaskportError {}
    expect(new DeliveryLimitError("rabbitmq", "gave up").name).toBe("DeliveryLimitError");
  });
});
