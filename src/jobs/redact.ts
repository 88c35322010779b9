// One redaction for every error text that is stored (jobs.last_error) or logged: a model may
// echo the API key into its answer, and that answer ends up in a validation message.
export const REDACTED = '[redacted]';

/** The secrets of a configuration: the model's API key, the admin token, a database URL's password. */
export function secretsOf(config: { apiKey?: string | undefined; adminToken?: string | undefined; databaseUrl?: string | undefined }): string[] {
  const secrets = [config.apiKey, config.adminToken];
  if (config.databaseUrl) {
    try {
      const password = new URL(config.databaseUrl).password;
      if (password) secrets.push(password, decodeURIComponent(password));
    } catch {
      // not a URL: nothing to take from it
    }
  }
  // Longest first, so that a secret containing another is replaced whole; very short values
  // (a test token "x") would redact half of every message.
  return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
}

/** Replaces each secret, `Bearer …` tokens and `user:password@` in URLs by [redacted]. */
export function makeRedactor(secrets: readonly string[]): (text: string) => string {
  return (text) => {
    let out = text.replace(/(Bearer\s+)[^\s"'`,;)]+/gi, `$1${REDACTED}`).replace(/(\/\/[^/\s:@]*:)[^@\s/]+@/g, `$1${REDACTED}@`);
    for (const secret of secrets) out = out.split(secret).join(REDACTED);
    return out;
  };
}
