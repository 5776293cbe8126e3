/** Set by `serve` for each worker: the directory holding one unix socket per worker. */
export const SOCKET_DIR_ENV = 'MODEL_SERVER_SOCKET_DIR';
