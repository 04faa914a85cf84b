import { describe, expect, it } from "vitest";
import { actionText, parseCommand } from "./chat_commands.ts";

describe("web - composer commands", () => {
  it("plain text is said; a doubled slash sends the slash", () => {
    expect(parseCommand("  hello ")).toEqual({ kind: "say", text: "hello" });
    expect(parseCommand("//shrug")).toEqual({ kind: "say", text: "/shrug" });
  });

  it("/join takes a channel with or without #, and refuses a bad name", () => {
    expect(parseCommand("/join #pause_cafe")).toEqual({ kind: "join", ch: "pause_cafe" });
    expect(parseCommand("/JOIN general")).toEqual({ kind: "join", ch: "general" });
    expect(parseCommand("/join #no:colons").kind).toBe("invalid");
    expect(parseCommand("/join").kind).toBe("invalid");
  });

  it("/msg takes a nick and the rest of the line as the text", () => {
    expect(parseCommand("/msg bob  see you at 5 ")).toEqual({ kind: "msg", user: "bob", text: "see you at 5" });
    expect(parseCommand("/msg bob").kind).toBe("invalid");
    expect(parseCommand("/msg b@d hi").kind).toBe("invalid");
  });

  it("/me, /topic, /leave and /help", () => {
    expect(parseCommand("/me waves")).toEqual({ kind: "me", text: "waves" });
    expect(parseCommand("/topic lunch at noon")).toEqual({ kind: "topic", topic: "lunch at noon" });
    expect(parseCommand("/topic")).toEqual({ kind: "topic", topic: "" });
    expect(parseCommand("/leave")).toEqual({ kind: "leave" });
    expect(parseCommand("/help")).toEqual({ kind: "help" });
  });

  it("an unknown command is refused, not sent", () => {
    expect(parseCommand("/nick bob")).toMatchObject({ kind: "invalid", message: expect.stringContaining("Unknown command /nick") });
  });

  it("a /me body is shown as an action", () => {
    expect(actionText("/me waves")).toBe("waves");
    expect(actionText("hello")).toBeUndefined();
  });
});
