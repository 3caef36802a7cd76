// Capability flags of the MySQL protocol (both MySQL and MariaDB share the lower 32 bits).
export const CAP = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  COMPRESS: 32,
  LOCAL_FILES: 128,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  TRANSACTIONS: 8192,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  ZSTD: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
  MULTI_FACTOR_AUTH: 1 << 28,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
} as const;

export const STATUS_MORE_RESULTS = 0x0008;

export const has = (caps: number, flag: number): boolean => (caps & flag) !== 0;
