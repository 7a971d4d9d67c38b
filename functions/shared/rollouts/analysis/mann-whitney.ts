// Mann-Whitney U test (Wilcoxon rank-sum), one-sided: do values of `x` tend to be greater than
// values of `y`? Rank-based, so it needs no assumption about how latencies or error rates are
// distributed, which is why canary analysis (Kayenta) uses it. Exact p-values for small samples
// without ties; the normal approximation with tie and continuity corrections otherwise.

export interface MannWhitneyResult {
  /** U statistic of x: how many (x, y) pairs have x > y, ties counting one half. */
  u: number;
  /** P(U >= u) when x and y come from the same distribution. */
  pValue: number;
  method: 'exact' | 'normal';
  n1: number;
  n2: number;
}

/** Above this many arrangements' worth of sample sizes the exact distribution is not worth it. */
const EXACT_MAX_N = 40;

export function mannWhitneyGreater(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0)
    throw new RangeError('mannWhitneyGreater needs at least one value in each sample');
  const { ranks, tieGroups } = rank([...x, ...y]);
  const r1 = ranks.slice(0, n1).reduce((sum, r) => sum + r, 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const hasTies = tieGroups.some((t) => t > 1);

  if (!hasTies && n1 <= EXACT_MAX_N && n2 <= EXACT_MAX_N) {
    const counts = uDistribution(n1, n2);
    const total = counts.reduce((sum, c) => sum + c, 0);
    let tail = 0;
    for (let k = Math.ceil(u); k < counts.length; k++) tail += counts[k] ?? 0;
    return { u, pValue: Math.min(1, tail / total), method: 'exact', n1, n2 };
  }

  const n = n1 + n2;
  const tieTerm = tieGroups.reduce((sum, t) => sum + (t ** 3 - t), 0);
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  // Every value tied: the samples cannot be told apart.
  if (variance <= 0) return { u, pValue: 1, method: 'normal', n1, n2 };
  const mean = (n1 * n2) / 2;
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, pValue: Math.min(1, Math.max(0, upperTailNormal(z))), method: 'normal', n1, n2 };
}

/** Average ranks (1-based) of the values, and the sizes of the groups of equal values. */
function rank(values: readonly number[]): { ranks: number[]; tieGroups: number[] } {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length).fill(0);
  const tieGroups: number[] = [];
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (
      j + 1 < order.length &&
      (order[j + 1] as { value: number }).value === (order[i] as { value: number }).value
    )
      j++;
    const average = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[(order[k] as { index: number }).index] = average;
    tieGroups.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, tieGroups };
}

/** counts[u] = number of arrangements of n1 x's and n2 y's whose U equals u. */
function uDistribution(n1: number, n2: number): number[] {
  // f[i][j] is the distribution for i x's and j y's; adding the largest value as an x adds j to U.
  let previousRow: number[][] = [];
  for (let i = 0; i <= n1; i++) {
    const row: number[][] = [];
    for (let j = 0; j <= n2; j++) {
      if (i === 0 || j === 0) {
        row.push([1]);
        continue;
      }
      const withX = (previousRow[j] as number[]).map((c, k) => [k + j, c] as const);
      const withY = row[j - 1] as number[];
      const dist = new Array<number>(i * j + 1).fill(0);
      for (const [k, c] of withX) dist[k] = (dist[k] ?? 0) + c;
      withY.forEach((c, k) => {
        dist[k] = (dist[k] ?? 0) + c;
      });
      row.push(dist);
    }
    previousRow = row;
  }
  return previousRow[n2] as number[];
}

/** P(Z > z) for a standard normal Z (erfc approximation, absolute error below 1.2e-7). */
export function upperTailNormal(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
