// TypeDoc plugin: a guide included with `projectDocuments` is named by its first `# heading`
// (TypeDoc would use its file name), so the guides read the same in the API site as on GitHub,
// without front matter in the Markdown.
import { Converter } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DOCUMENT, (_context, doc) => {
    const text = doc.content.map((part) => part.text).join('');
    const heading = /^#\s+(.+?)\s*$/m.exec(text);
    if (heading?.[1]) doc.name = heading[1].replace(/`/g, '');
  });
}
