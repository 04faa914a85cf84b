/**
 * The dependency audit's policy (docs/SECURITY.md), applied to an `npm audit --json` report:
 * exit 1 when a production dependency has an advisory of severity high or critical that
 * deploy/audit-exceptions.txt does not excuse (or excuses past its expiry date), exit 3 when the
 * report is an error (the advisory endpoint could not be reached: nothing was checked), else 0.
 *
 *   npm audit --omit=dev --json | npx tsx deploy/audit_gate.ts [--exceptions FILE] [--today YYYY-MM-DD]
 *   npx tsx deploy/audit_gate.ts --report deploy/fixtures/audit-critical.json   (exits 1)
 */
import { readFileSync } from "node:fs";

const FAILING = new Set(["high", "critical"]);

interface Via { source?: number; name?: string; title?: string; url?: string; severity?: string; range?: string }
interface Report {
  vulnerabilities?: Record<string, { name: string; severity: string; via: Array<Via | string> }>;
  metadata?: { vulnerabilities?: Record<string, number>; dependencies?: { prod?: number } };
  message?: string;
  statusCode?: number;
  error?: { summary?: string };
}

interface AuditException { id: string; pkg: string; until: string; reason: string }

/** Lines `GHSA-xxxx-xxxx-xxxx  package  YYYY-MM-DD  reason`; `#` starts a comment. */
function parseExceptions(text: string): AuditException[] {
  return text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean).map((l) => {
    const [id, pkg, until, ...reason] = l.split(/\s+/);
    if (!id || !pkg || !until || !/^\d{4}-\d{2}-\d{2}$/.test(until) || reason.length === 0) {
      throw new Error(`Cannot read audit exception "${l}": want "ADVISORY-ID PACKAGE YYYY-MM-DD REASON"`);
    }
    return { id, pkg, until, reason: reason.join(" ") };
  });
}

interface Verdict { exit: 0 | 1 | 3; lines: string[] }

function judge(report: Report, exceptions: AuditException[], today: string): Verdict {
  if (!report.vulnerabilities || !report.metadata) {
    const why = report.message ?? report.error?.summary ?? "no vulnerabilities section";
    return { exit: 3, lines: [`audit: UNAVAILABLE, nothing was checked (${why})`] };
  }
  const lines: string[] = [];
  let failing = 0;
  for (const v of Object.values(report.vulnerabilities)) {
    for (const via of v.via) {
      if (typeof via === "string" || !via.severity || !FAILING.has(via.severity)) continue;
      const id = /GHSA-[\w-]+/.exec(via.url ?? "")?.[0] ?? String(via.source);
      const ex = exceptions.find((e) => e.id === id && e.pkg === v.name);
      if (ex && ex.until >= today) {
        lines.push(`audit: excepted until ${ex.until}: ${v.name} ${id} (${via.severity}) ${via.title ?? ""}: ${ex.reason}`);
        continue;
      }
      failing++;
      lines.push(`audit: FAIL ${v.name} ${id} (${via.severity}) ${via.title ?? ""}${ex ? ` (its exception expired ${ex.until})` : ""}`);
    }
  }
  const m = report.metadata.vulnerabilities ?? {};
  const counts = ["critical", "high", "moderate", "low", "info"].map((s) => `${m[s] ?? 0} ${s}`).join(", ");
  lines.push(`audit: ${report.metadata.dependencies?.prod ?? "?"} production dependencies; advisories: ${counts}; failing: ${failing}`);
  return { exit: failing > 0 ? 1 : 0, lines };
}


const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const exceptionsFile = arg("exceptions") ?? new URL("audit-exceptions.txt", import.meta.url).pathname;
const report = JSON.parse(readFileSync(arg("report") ?? 0, "utf8")) as Report;
const verdict = judge(report, parseExceptions(readFileSync(exceptionsFile, "utf8")), arg("today") ?? new Date().toISOString().slice(0, 10));
for (const l of verdict.lines) console.log(l);
process.exitCode = verdict.exit;
