const entities: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text safe inside HTML and SVG, in content and in quoted attributes. Everything the report shows
 * from the job database (prompts' ids, models, URLs, error messages) goes through here: a prompt
 * or an error may hold markup.
 */
export function escapeHtml(value: unknown): string {
  // Control characters other than tab and newline are not allowed in XML (the SVG), and show nothing useful.
  return String(value)
    .replace(/[&<>"']/g, (c) => entities[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd');
}
