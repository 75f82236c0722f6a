/**
 * Removes the user-info part (`user:password@`) of a URL. Works on strings that do not parse as a URL
 * too, because error messages quote whatever the user configured.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1***@");
}

/** The URL without user-info, and the credentials it carried (decoded), if any. */
export function splitCredentials(url: string): {
  url: string;
  username: string | undefined;
  password: string | undefined;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, username: undefined, password: undefined };
  }
  if (parsed.username === "" && parsed.password === "")
    return { url, username: undefined, password: undefined };
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return {
    url: url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1"),
    username,
    password,
  };
}
