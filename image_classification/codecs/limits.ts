/**
 * Limits on what a body may make a worker hold or do, whatever its header claims.
 * Every codec checks them before it allocates or loops on a client's numbers. The "Limits"
 * table of docs/limits.md lists them; numpy's own reader is the model for the NPY header ones.
 */

/** Dimensions of one tensor (numpy's NPY_MAXDIMS). */
export const MAX_TENSOR_DIMS = 64;

/** Values in one tensor: 16 Mi (64 MiB of float32; more than 36 images at 384²). */
export const MAX_TENSOR_ELEMENTS = 16 * 1024 * 1024;

/** An NPY header's length (numpy refuses larger ones by default too). */
export const MAX_NPY_HEADER_BYTES = 10_000;

/** Members of one NPZ archive, read from its directory before anything is unpacked. */
export const MAX_NPZ_MEMBERS = 64;

/** Bytes all members of one NPZ may declare; none may inflate past what it declares. */
export const MAX_NPZ_UNPACKED_BYTES = 64 * 1024 * 1024;

/** Nesting of a JSON tensor (a list of lists …), the same cap as the NPY dimensions. */
export const MAX_JSON_TENSOR_DEPTH = MAX_TENSOR_DIMS;

/** Nesting of any JSON body (or JSON Lines record): a tensor's lists inside `{"inputs": {"<name>": …}}`. */
export const MAX_JSON_DEPTH = MAX_JSON_TENSOR_DEPTH + 2;

/** Images in one request (a JSON list, a tensor's batch axis, or all records of a batch-transform body); more are refused, never truncated. */
export const MAX_IMAGES_PER_REQUEST = 64;

/** Records in one batch-transform request (JSON Lines or CSV rows); more are refused, never truncated. */
export const MAX_RECORDS_PER_REQUEST = 1000;
