import { CoreError } from "./errors.ts";

/** A dense row-major matrix of doubles: cell (r, c) is `data[r * nCols + c]`. */
export interface DenseMatrix {
  readonly data: Float64Array;
  readonly nRows: number;
  readonly nCols: number;
}

/** What training and batch prediction accept: a dense matrix, or rows as arrays (ml-random-forest style). */
export type MatrixInput = DenseMatrix | readonly ArrayLike<number>[];

function isDense(input: MatrixInput): input is DenseMatrix {
  return !Array.isArray(input);
}

/** Returns `input` as a dense matrix, copying only when it is given as rows. */
export function toDenseMatrix(input: MatrixInput): DenseMatrix {
  if (isDense(input)) {
    if (input.data.length !== input.nRows * input.nCols) {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `matrix data has ${input.data.length} cells, expected nRows × nCols = ${input.nRows} × ${input.nCols}`,
      );
    }
    return input;
  }
  const nRows = input.length;
  const nCols = nRows === 0 ? 0 : (input[0]?.length ?? 0);
  const data = new Float64Array(nRows * nCols);
  for (let r = 0; r < nRows; r++) {
    const row = input[r] as ArrayLike<number>;
    if (row.length !== nCols) {
      throw new CoreError(
        "INVALID_ARGUMENT",
        `row ${r} has ${row.length} values, row 0 has ${nCols}; every row needs the same columns`,
      );
    }
    for (let c = 0; c < nCols; c++) data[r * nCols + c] = row[c] as number;
  }
  return { data, nRows, nCols };
}
