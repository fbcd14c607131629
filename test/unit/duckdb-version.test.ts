// The httpfs extension loads only into the DuckDB release it was built for: the pinned
// @duckdb/node-api must be the release core/duckdb.ts names (and stack/provision.ts fetches).
import { DUCKDB_VERSION, httpfsExtensionPath, openDuckDb, s3SecretSql } from '../../core/duckdb';

test('the DuckDB library is the release the httpfs wheel is fetched for', async () => {
  const db = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
  try {
    const reader = await db.connection.runAndReadAll('SELECT version() AS v');
    expect(reader.getRowObjectsJson()[0].v).toBe(`v${DUCKDB_VERSION}`);
  } finally {
    db.close();
  }
  expect(httpfsExtensionPath('/c')).toBe(`/c/duckdb-extensions/v${DUCKDB_VERSION}/httpfs.duckdb_extension`);
});

test('the S3 secret follows the endpoint: host, scheme → USE_SSL, path style', () => {
  const base = { bucket: 'b', region: 'eu-west-1', accessKeyId: 'k', secretAccessKey: "s'q", local: false, sse: true };
  expect(s3SecretSql({ ...base, endpoint: 'http://127.0.0.1:9000', forcePathStyle: true })).toBe(
    "CREATE OR REPLACE SECRET rtap_lake (TYPE s3, KEY_ID 'k', SECRET 's''q', REGION 'eu-west-1', ENDPOINT '127.0.0.1:9000', URL_STYLE 'path', USE_SSL false)",
  );
  expect(s3SecretSql({ ...base, endpoint: 'https://s3.example.com', forcePathStyle: false })).toMatch(/ENDPOINT 's3.example.com', URL_STYLE 'vhost', USE_SSL true\)$/);
});
