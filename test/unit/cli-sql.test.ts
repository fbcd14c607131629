// The pure parts of `rtap sql`: statement splitting and output formats.
import { splitStatements, toTable } from '../../cli/sql';
import { toCsv } from '../../core/csv';

test('statements split on semicolons outside quotes and comments', () => {
  expect(splitStatements("select 'a;b' as x; -- c;d\nselect \"e;f\" from t;;")).toEqual(["select 'a;b' as x", 'select "e;f" from t']);
  expect(splitStatements('  ')).toEqual([]);
});

test('CSV quotes what needs quoting and leaves NULL empty', () => {
  expect(toCsv(['a', 'b,c'], [['x', null], ['say "hi"', 'l1\nl2'], [1, true]])).toBe('a,"b,c"\nx,\n"say ""hi""","l1\nl2"\n1,true\n');
});

test('the table aligns columns, clips long cells and counts rows', () => {
  const out = toTable(['n', 'name'], [[1, 'x'.repeat(100)], [22, null]]).split('\n');
  expect(out[0]).toBe(`n  │ name`);
  expect(out[2]).toBe(`1  │ ${'x'.repeat(59)}…`);
  expect(out[3]).toBe('22 │ NULL');
  expect(out[4]).toBe('(2 rows)');
});
