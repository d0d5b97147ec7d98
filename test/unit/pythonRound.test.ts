import { roundHalfEven } from "../../lib/util/pythonRound";

describe("roundHalfEven (Python 3's round())", () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [2.4999999999999996, 2],
    [2.5000000000000004, 3],
    [150.5, 150],
    [151.5, 152],
    [7, 7],
    [-7.2, -7],
  ])("round(%p) = %p", (x, expected) => {
    expect(roundHalfEven(x)).toBe(expected);
  });
});
