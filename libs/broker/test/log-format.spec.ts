import { formatLogFields } from '@herald/broker';

describe('formatLogFields (ConsoleLogger and the Nest logger write fields this way)', () => {
  it('writes logfmt pairs, quoting values with spaces, quotes or "=", and leaves out undefined and null', () => {
    expect(formatLogFields({ group: 'inventory', queue: 3, retry: true, error: 'connection "x" lost', expr: 'a=b', none: undefined, gone: null })).toBe(
      ' group=inventory queue=3 retry=true error="connection \\"x\\" lost" expr="a=b"',
    );
    expect(formatLogFields(undefined)).toBe('');
  });
});
