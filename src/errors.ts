// Errors that reach the user. Each carries a message that says what failed, why, and what to do,
// and never a secret (messages are scrubbed before they are shown).

/** A problem the user must fix (input, credentials, server state); shown as is, without a stack. */
export class ActionError extends Error {
  readonly title: string;
  constructor(title: string, message: string) {
    super(message);
    this.name = "ActionError";
    this.title = title;
  }
}

/** Several preflight problems found at once, reported together so one rerun can fix them all. */
export class PreflightError extends ActionError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      "Preflight failed",
      problems.length === 1
        ? `${problems[0]}\nNothing was changed on either server.`
        : `${problems.length} problems found before any change:\n${problems.map((p) => `- ${p}`).join("\n")}\nNothing was changed on either server.`,
    );
    this.problems = problems;
  }
}
