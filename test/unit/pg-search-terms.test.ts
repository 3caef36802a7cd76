// How the PostgreSQL store turns user text into search words and a tsquery: user text never
// reaches tsquery syntax, and stored text and queries split into the same words.
import { describe, expect, it } from 'vitest';
import { indexText, prefixQuery, words } from '../../gateway/store/postgres/search.js';

describe('PostgreSQL search terms', () => {
  it('splits on every non-alphanumeric, lower-cased, like SQLite unicode61', () => {
    expect(words('rm -rf /var/cache/App')).toEqual(['rm', 'rf', 'var', 'cache', 'app']);
    expect(indexText('SELECT * FROM "Orders" WHERE id=42;')).toBe('select from orders where id 42');
    expect(words('Ünïcode naïve café')).toEqual(['ünïcode', 'naïve', 'café']);
  });

  it('makes each word a quoted prefix lexeme joined by AND, whatever the query holds', () => {
    expect(prefixQuery('drop ord')).toBe("'drop':* & 'ord':*");
    expect(prefixQuery("x' | !y & (z:*) <-> \\ w")).toBe("'x':* & 'y':* & 'z':* & 'w':*");
    expect(prefixQuery('   ')).toBe('');
    expect(prefixQuery('!&|()<->:*\'"\\')).toBe('');
  });
});
