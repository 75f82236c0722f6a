import { describe, expect, it } from "vitest";
import { redactUrl, splitCredentials } from "./redact.ts";

describe("redactUrl", () => {
  it.each([
    ["http://alice:s3cret@mlflow.local:5000/", "http://***@mlflow.local:5000/"],
    ["https://token@host/path?x=1", "https://***@host/path?x=1"],
    ["http://a%40b:p%3Aw@host", "http://***@host"],
    ["http://host:5000", "http://host:5000"],
    ["http://host/path@not-userinfo", "http://host/path@not-userinfo"],
    ["not a url://user:pw@x", "not a url://user:pw@x"],
  ])("%s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe("splitCredentials", () => {
  it("takes decoded credentials out of the URL", () => {
    expect(splitCredentials("http://a%40b:p%3Aw@host:5000/x")).toEqual({
      url: "http://host:5000/x",
      username: "a@b",
      password: "p:w",
    });
    expect(splitCredentials("http://host:5000")).toEqual({
      url: "http://host:5000",
      username: undefined,
      password: undefined,
    });
  });
});
