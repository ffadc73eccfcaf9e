// Every setting in the URL's hash, so that a view can be shared: #dataset=xor&layers=4,2&…
// The hash is read once at load and sent to the server, which checks it like any other
// message; it is rewritten from what the server accepted.

/** Settings of the page alone (drawing choices); the server never sees them. */
export const PAGE_DEFAULTS = { show_test: false, discretize: false };

function parse(text, example) {
  if (Array.isArray(example)) {
    const parts = text === "" ? [] : text.split(",");
    return typeof example[0] === "string" || parts.some((p) => Number.isNaN(Number(p)))
      ? parts : parts.map(Number);
  }
  if (typeof example === "number") return Number(text);
  if (typeof example === "boolean") return text === "1" || text === "true";
  return text;
}

function entries() {
  const hash = window.location.hash.slice(1);
  if (!hash) return [];
  return hash.split("&").map((pair) => {
    const [key, value = ""] = pair.split("=");
    return [decodeURIComponent(key), decodeURIComponent(value)];
  });
}

/**
 * The settings and page options in the hash, typed after the defaults'.
 * Keys the page does not know are returned too, so the server can say so.
 */
export function readHash(defaults) {
  const settings = {};
  const page = { ...PAGE_DEFAULTS };
  for (const [key, value] of entries()) {
    if (key in PAGE_DEFAULTS) page[key] = parse(value, PAGE_DEFAULTS[key]);
    else if (key in defaults) settings[key] = parse(value, defaults[key]);
    else if (key) settings[key] = value;
  }
  return { settings, page };
}

/** Write the accepted settings and the page options into the hash (no new history entry). */
export function writeHash(settings, page) {
  const pairs = Object.entries({ ...settings, ...page }).map(([key, value]) => {
    const text = Array.isArray(value) ? value.join(",")
      : typeof value === "boolean" ? (value ? "1" : "0") : String(value);
    return `${encodeURIComponent(key)}=${text.split(",").map(encodeURIComponent).join(",")}`;
  });
  history.replaceState(null, "", `#${pairs.join("&")}`);
}
