/**
 * Distributions of the Kolmogorov–Smirnov statistic, following the algorithms SciPy 1.17 uses in
 * `ks_2samp`: the exact two-sample probabilities (Hodges' lattice-path counts) and, for large
 * samples, the one-sample two-sided distribution `kstwo.sf` (Simard & L'Ecuyer's choice between
 * Durbin's matrix, Pomeranz's recursion, Pelz–Good and the one-sided Smirnov sum).
 */

const E128 = 2 ** 128;
const EM128 = 2 ** -128;
const MIN_LOG = -708.3964185322641;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;

/** x · 2^e without overflowing the intermediate power of two. */
function ldexp(x: number, e: number): number {
  let r = x;
  let k = e;
  while (k > 1000) {
    r *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    r *= 2 ** -1000;
    k += 1000;
  }
  return r * 2 ** k;
}

const clip01 = (p: number): number => Math.min(Math.max(p, 0), 1);

/**
 * Pr(D_{n,n} >= h/n) for two samples of one size n: the alternating binomial sum, in the
 * Horner-like nested form that avoids cancellation.
 */
export function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++)
      p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * Share of the lattice paths from (0, 0) to (m, n) that leave the band |x/m − y/n| < h/lcm(m, n):
 * the "inside" recursion rewritten to carry 1 − p directly (Viehmann 2021), one sliding column.
 */
export function probOutsideBand(m0: number, n0: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const g = gcd(m, n);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const a = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  a.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const shift = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (a[jj + shift]! * i + val * j) / (i + j);
      a[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) a.fill(1, curlen, curlen + (lastlen - curlen));
  }
  // An index past the column (never expected) reads as NaN, which the caller treats as a failure.
  return a[maxj - minj - 1] ?? NaN;
}

export function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

// B_{2j} / (2j (2j − 1)) for j = 8 … 1: the Stirling series of ln Γ.
const STIRLING = [
  -3617 / 122400,
  1 / 156,
  -691 / 360360,
  1 / 1188,
  -1 / 1680,
  1 / 1260,
  -1 / 360,
  1 / 12,
];

/** ln(n! / n^n) by Stirling's series, with n ln n removed up front. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const u = rn / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * u + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

/** Pr(D_n <= d) by Durbin's matrix in Marsaglia–Tsang–Wang's form: a power of a (2k−1)² matrix. */
function kolmogorovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let hm = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) hm[r * m + i] = w[r - i + 1]!;
  }
  for (let r = 0; r < m; r++) hm[r * m] = v[r]!;
  for (let c = 0; c < m; c++) hm[(m - 1) * m + c] = v[m - 1 - c]!;
  let pw = new Float64Array(m * m);
  for (let i = 0; i < m; i++) pw[i * m + i] = 1;
  let expnt = 0;
  let hExpnt = 0;
  for (let nn = n; nn > 0; nn = Math.floor(nn / 2)) {
    if (nn % 2 === 1) {
      pw = matmul(pw, hm, m);
      expnt += hExpnt;
    }
    hm = matmul(hm, hm, m);
    hExpnt *= 2;
    if (Math.abs(hm[(k - 1) * m + (k - 1)]!) > E128) {
      for (let i = 0; i < hm.length; i++) hm[i]! /= E128;
      hExpnt += 128;
    }
  }
  let p = pw[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  return expnt === 0 ? p : ldexp(p, expnt);
}

function matmul(
  a: Float64Array,
  b: Float64Array,
  m: number,
): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l]!;
      if (ail === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j]! += ail * b[l * m + j]!;
    }
  }
  return out;
}

/** Interval of non-zero entries of Pomeranz's row i. */
function pomeranzBounds(
  i: number,
  n: number,
  shape: { ll: number; ceilf: number; roundf: number },
): [number, number] {
  const { ll, ceilf, roundf } = shape;
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n <= x) by Pomeranz's recursion: rows convolved with Poisson-like weights. */
function kolmogorovCdfPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const shape = { ll, ceilf: f > 0 ? 1 : 0, roundf: f > 0.5 ? 1 : 0 };
  const npwrs = 2 * (ll + 1);
  const gp = new Float64Array(npwrs);
  const twoGp = new Float64Array(npwrs);
  const oneMinus2Gp = new Float64Array(npwrs);
  gp[0] = twoGp[0] = oneMinus2Gp[0] = 1;
  for (let k = 1; k < npwrs; k++) {
    gp[k] = (gp[k - 1]! * (g / n)) / k;
    twoGp[k] = (twoGp[k - 1]! * ((2 * g) / n)) / k;
    oneMinus2Gp[k] = (oneMinus2Gp[k - 1]! * ((1 - 2 * g) / n)) / k;
  }
  let v0 = new Float64Array(npwrs);
  let v1 = new Float64Array(npwrs);
  v1[0] = 1;
  let v0s = 0;
  let v1s = 0;
  let expnt = 0;
  let [j1, j2] = pomeranzBounds(0, n, shape);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0s, v1s] = [v1s, v0s];
    v1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, shape);
    const pwrs =
      i === 1 || i === 2 * n + 1 ? gp : i % 2 === 1 ? twoGp : oneMinus2Gp;
    const len = j2 - k1 + 1;
    if (len <= 0) continue;
    const start = k1 - v0s;
    const src = v0.subarray(start, Math.min(start + len, npwrs));
    const convStart = j1 - k1;
    const convLen = j2 - j1 + 1;
    let max = 0;
    for (let o = 0; o < convLen; o++) {
      // Entry convStart + o of the full convolution of src with pwrs[0, len).
      const c = convStart + o;
      let s = 0;
      for (
        let a = Math.max(0, c - len + 1);
        a <= Math.min(c, src.length - 1);
        a++
      ) {
        s += src[a]! * pwrs[c - a]!;
      }
      v1[o] = s;
      if (s > max) max = s;
    }
    if (max > 0 && max < EM128) {
      for (let o = 0; o < v1.length; o++) v1[o]! *= E128;
      expnt -= 128;
    }
    v1s = v0s + j1 - k1;
  }
  let ans = v1[n - v1s] ?? NaN;
  for (let k = 1; k <= n; k++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= k;
  }
  return expnt === 0 ? ans : ldexp(ans, expnt);
}

/** Pelz–Good's asymptotic series for Pr(D_n <= x). */
function kolmogorovCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  const q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const kk = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [
      1,
      k1a + k1b * m2,
      k2a + k2b * m2 + k2c * m4,
      k3a + k3b * m2 + k3c * m4 + k3d * m6,
    ];
    for (let i = 0; i < 4; i++) kk[i] = kk[i]! * qpower + coeffs[i]!;
  }
  const div = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) kk[i] = (kk[i]! * q * SQRT_2PI) / div[i]!;
  const q2 = Math.exp(-PI2 / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k >= 1; k--) {
    const k2 = k * k;
    const qp = q2 ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  kk[2] = kk[2]! + (k2extra * PI2 * SQRT_2PI) / (-36 * z3);
  kk[3] = kk[3]! + (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += kk[i]! / n ** (i / 2);
  return sum;
}

/** n·x as an exact floor and fractional part (Dekker's product, no double-double type needed). */
function floorAndFraction(n: number, x: number): [number, number] {
  const hi = n * x;
  const split = (a: number): [number, number] => {
    const c = 134217729 * a;
    const big = c - (c - a);
    return [big, a - big];
  };
  const [nh, nl] = split(n);
  const [xh, xl] = split(x);
  const lo = nh * xh - hi + nh * xl + nl * xh + nl * xl;
  let fl = Math.floor(hi);
  let alpha = hi - fl + lo;
  if (alpha < 0) {
    fl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    fl += 1;
    alpha = 0;
  }
  return [fl, alpha];
}

/**
 * Survival function of the one-sided one-sample statistic D_n^+ (scipy.special.smirnov): the
 * Birnbaum–Tingey sum, its terms formed in logarithms (≈ (n·x + v)·ε relative error per term).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const [nxfl, alpha] = floorAndFraction(n, x);
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    return 1 - x * (1 + x) ** (n - 1);
  }
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxfl >= n - 1) return (1 - x) ** n;
  if (n > 1_000_000) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    // p ≈ e^(−(6nx+1)²/18n); small p straight from exp, else through expm1 as SciPy.
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  let lastV = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) lastV -= 1;
  const nTerms = lastV + 1;
  const vmid = Math.floor(n / 2);
  let logBinom = 0;
  let sum = 0;
  for (let v = 0; v < nTerms; v++) {
    const logTerm =
      logBinom +
      (n - v) * Math.log1p(-(x + v / n)) +
      (v - 1) * Math.log(x + v / n);
    const term = Math.exp(logTerm);
    if (Number.isFinite(term) && term !== 0) sum += term;
    if (term !== 0) {
      if (4 * (nTerms - v) * term < Number.EPSILON * sum && v !== nTerms - 1)
        break;
    } else if (v > vmid) break;
    logBinom += Math.log((n - v) / (v + 1));
  }
  return clip01(x * sum);
}

/** Survival function of the two-sided one-sample statistic D_n (scipy.stats.kstwo.sf). */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    const cdf =
      n <= 140
        ? productUpTo(n, (i) => i * (1 / n) * (2 * t - 1))
        : Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clip01(1 - kolmogorovCdfDurbin(n, x));
    if (nx2 <= 4) return clip01(1 - kolmogorovCdfPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf =
    n <= 100_000 && n * x ** 1.5 <= 1.4
      ? kolmogorovCdfDurbin(n, x)
      : kolmogorovCdfPelzGood(n, x);
  return clip01(1 - cdf);
}

function productUpTo(n: number, factor: (i: number) => number): number {
  let p = 1;
  for (let i = 1; i <= n; i++) p *= factor(i);
  return p;
}
