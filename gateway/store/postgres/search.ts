// Words for PostgreSQL full-text search, split here rather than by PostgreSQL's parser: that parser
// keeps '/var/cache/app' or 'a.b@c' as one token, so 'cache' would not find it, while SQLite's
// unicode61 splits on every non-alphanumeric. Both the stored text and the query go through
// `words`, so they always agree.

/** Lower-cased runs of letters and digits. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** What to_tsvector('simple', …) indexes for `text`: its words, space separated. */
export function indexText(text: string): string {
  return words(text).join(' ');
}

/**
 * A to_tsquery('simple', …) source for plain words: every word must occur as a word prefix.
 * User text never reaches tsquery syntax: each lexeme is quoted (quotes and backslashes escaped,
 * though `words` lets none through) and the operators are ours. Empty when there is nothing to find.
 */
export function prefixQuery(query: string): string {
  return words(query).map((w) => `'${w.replace(/\\/g, '\\\\').replace(/'/g, "''")}':*`).join(' & ');
}
