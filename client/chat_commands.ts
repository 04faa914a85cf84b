/** What a line typed in a chat client (the web app, `storm chat`) asks for: plain text, or one of the IRC-style commands. */
export type Command =
  | { kind: "say"; text: string }
  | { kind: "me"; text: string }
  | { kind: "join"; ch: string }
  | { kind: "leave" }
  | { kind: "msg"; user: string; text: string }
  | { kind: "topic"; topic: string }
  | { kind: "help" }
  | { kind: "invalid"; message: string };

const CHANNEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;
const USER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

export const HELP = "/join #channel · /msg nick text · /me action · /topic text · /leave · /help";

/**
 * Parses one composer line. `//text` sends `/text` as is; an unknown `/word` is refused rather
 * than sent, so a mistyped command never lands in a channel.
 */
export function parseCommand(line: string): Command {
  const text = line.trim();
  if (!text.startsWith("/") || text.startsWith("//")) return { kind: "say", text: text.startsWith("//") ? text.slice(1) : text };
  const [word = "", ...rest] = text.slice(1).split(/\s+/);
  const arg = text.slice(1 + word.length).trim();
  switch (word.toLowerCase()) {
    case "join": {
      const ch = (rest[0] ?? "").replace(/^#/, "");
      return CHANNEL.test(ch) ? { kind: "join", ch } : { kind: "invalid", message: `Cannot join "${rest[0] ?? ""}": expected /join #channel (letters, digits, _ . -)` };
    }
    case "leave":
    case "part":
      return { kind: "leave" };
    case "msg":
    case "query": {
      const user = rest[0] ?? "";
      const body = arg.slice(user.length).trim();
      if (!USER.test(user)) return { kind: "invalid", message: `Cannot message "${user}": expected /msg nick text` };
      return body ? { kind: "msg", user, text: body } : { kind: "invalid", message: "Cannot send an empty message: expected /msg nick text" };
    }
    case "me":
      return arg ? { kind: "me", text: arg } : { kind: "invalid", message: "Expected /me action" };
    case "topic":
      return { kind: "topic", topic: arg };
    case "help":
      return { kind: "help" };
    default:
      return { kind: "invalid", message: `Unknown command /${word}: ${HELP}` };
  }
}

/** `/me waves` is stored as its text; this tells how to show a body. */
export function actionText(body: string): string | undefined {
  return body.startsWith("/me ") ? body.slice(4) : undefined;
}
