const { floor } = Math;

/**
 * Python 3's round() of a float to an integer: the nearest integer, ties (an exact .5) to the
 * even one (banker's rounding), where Math.round sends every tie up: roundHalfEven(2.5) = 2,
 * roundHalfEven(3.5) = 4, roundHalfEven(-0.5) = 0, roundHalfEven(-1.5) = -2. `x - floor(x)` is
 * exact for doubles, so the tie test is exact, as Python's is. Used wherever the old backend
 * rounded with Python (blur kernel size, letterbox content size).
 */
export function roundHalfEven(x: number): number {
  const f = floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}
