// Removes what this test run created on the shared local stack — its Kafka topics and its
// top-level lake prefixes — found by the run tag in their names. Without it every run left
// gigabytes of topics behind (a full disk stopped MinIO once). Runs of other processes, with other
// tags, are left alone.
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { logLevel } from 'kafkajs';
import { createKafka } from '../../core/kafka';
import { createS3 } from '../../core/s3';
import { cfg, RUN_TAG_ENV } from './helpers';

export default async function globalTeardown(): Promise<void> {
  const tag = process.env[RUN_TAG_ENV];
  if (!tag) return;
  const marker = `-${tag}-`;
  const admin = createKafka(cfg.kafka, { logLevel: logLevel.NOTHING }).admin();
  const s3 = createS3(cfg.s3);
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.includes(marker));
    for (let i = 0; i < topics.length; i += 100) await admin.deleteTopics({ topics: topics.slice(i, i + 100), timeout: 60_000 });
    let deleted = 0;
    const roots = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Delimiter: '/' }));
    for (const root of (roots.CommonPrefixes ?? []).map((p) => p.Prefix!).filter((p) => p.includes(marker))) {
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, Prefix: root, ContinuationToken: token }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: cfg.s3.bucket, Delete: { Objects: keys, Quiet: true } }));
        deleted += keys.length;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    process.stderr.write(`[teardown] removed ${topics.length} topics and ${deleted} lake objects of test run ${tag}\n`);
  } catch (err) {
    // Cleanup must never turn a green run red; what is left is named by its tag.
    process.stderr.write(`[teardown] cleanup of test run ${tag} incomplete: ${(err as Error).message}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    s3.destroy();
  }
}
